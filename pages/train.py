"""Train view: fine-tune or train a segmentation model on your own image/mask pairs, and compare."""
from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from devocore import config, deploy, io, registry, ui_cache
from devocore.train import finetune, user_data
from devocore.train.augment import preview
from devocore.train.job import Job
from devocore.train.segmentation import LOSSES, TrainConfig
from pages import common, train_channels

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

SCRATCH = "(from scratch)"
SOURCES = ["Example", "Upload a ZIP", "Server folder"]
# Seconds per epoch of the default run (nucleus start, 20 batches of 8 crops of 128 px, 2 validation images at
# 256 px) on a 2-core CPU: 3 epochs took 312 s in the UI audit of 2026-12-07. Used only to say
# roughly what to expect before any run of the visitor's own was measured.
CPU_EPOCH_S, CPU_EPOCH_IMAGES, CPU_EPOCH_CROP = 104.0, 20 * 8, 128
FEW_VAL_IMAGES = 10  # under this, scores on the validation images move a lot from one image set to another
NAMES = {"train_loss": "training loss", "val_loss": "validation loss", "val_iou": "validation IoU",
         "val_dice": "validation Dice"}


@ui_cache.data
def _example_folder(task: str, n: int = 12, size: int = 128) -> tuple[str, str]:
    """A small simulated dataset (another microscope's look), written once per server process."""
    import tempfile

    folder = Path(tempfile.gettempdir()) / f"devoscope-train-example-{task}-{n}-{size}"
    images, masks = user_data.example_dataset(folder, n=n, size=size, task=task)
    return str(images), str(masks)


def _choice(key: str, options: list, default):
    """Index of the URL's value for a selectbox/radio (the shared link restores the choice)."""
    return common.choice_index(options, common.param(key, default, type(default)), options.index(default)
                               if default in options else 0)


def _number(key: str, default, low, high, cast=float):
    """The URL's value for a number widget, kept inside the widget's range."""
    return min(high, max(low, common.param(key, default, cast)))


def _line(history: pd.DataFrame, columns: list[str], title: str, y_title: str, log_y: bool = False) -> go.Figure:
    """One line per history column, named for people, over whole-number epochs."""
    fig = go.Figure([go.Scatter(x=history["epoch"], y=history[c], mode="lines+markers", name=NAMES.get(c, c))
                     for c in columns])
    fig.update_layout(title=title, height=260, margin=dict(l=0, r=0, t=30, b=0))
    # epochs are counted: a tick at 1.5 means nothing; at most about 10 ticks on a long run
    fig.update_xaxes(title="epoch", dtick=max(1, math.ceil(int(history["epoch"].max()) / 10)), tickformat="d",
                     automargin=True)
    fig.update_yaxes(title=y_title, automargin=True)
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def _duration(seconds: float) -> str:
    """A rough time for people: '40 s', '7 min', '1 h 5 min'."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _per_epoch(history: list[dict]) -> float | None:
    """Measured seconds per epoch of a run so far (its history's last ``seconds`` is the time since it began)."""
    if not history or "seconds" not in history[-1]:
        return None
    return float(history[-1]["seconds"]) / max(1, int(history[-1]["epoch"]))


def _running_text(history: list[dict], most: int, message: str, elapsed: float) -> str:
    """The live bar's text: the epoch reached out of ``most``, the last validation IoU and the time left."""
    if not history:
        if message.startswith(deploy.WAIT_LINE):  # queued behind another visitor's run (cloud profile)
            return message
        return (f"epoch 1 of {most} running ({_duration(elapsed)} so far); the time left is estimated once it "
                "is done")
    done = int(history[-1]["epoch"])
    text = f"epoch {done} of {most} · validation IoU {history[-1]['val_iou']:.3f}"
    per = _per_epoch(history)
    if done < most and per is not None:
        text += f" · about {_duration(per * (most - done))} left (less if it stops early)"
    return text


def _trains_on_gpu() -> bool:
    """Whether a training run uses a GPU (the device segmentation.train picks)."""
    from devocore.device import training_device

    return training_device().name != "cpu"


def _expected_time(epochs: int, steps: int, batch: int, crop: int, start_model: str, size: int) -> str:
    """What to expect from a run with these settings: from this session's last run when it trained the same
    network at the same size (scaled by the images per epoch), else a plain word about the CPU."""
    images = steps * batch
    last: Job | None = st.session_state.get("train_job")
    info = st.session_state.get("train_job_info") or {}
    per = _per_epoch(last.history) if last is not None else None
    if per is not None and info.get("start") == start_model and info.get("size") == size and info.get("images"):
        per_here = per * images / info["images"]
        return (f"Your last run here took about {_duration(per)} per epoch ({info['steps']} batches of "
                f"{info['batch']}); with these settings an epoch takes roughly {_duration(per_here)}, so "
                f"{epochs} epochs take up to about {_duration(per_here * epochs)} (less if validation stops "
                "improving and the run stops early).")
    if _trains_on_gpu():
        return "Training runs on the GPU. The time left shows on the bar once the first epoch is done."
    per_here = CPU_EPOCH_S * images / CPU_EPOCH_IMAGES * (crop / CPU_EPOCH_CROP) ** 2
    return (f"Training runs on the CPU: each epoch takes minutes on a laptop (measured: about "
            f"{_duration(CPU_EPOCH_S)} for {CPU_EPOCH_IMAGES // 8} batches of 8 on a 2-core CPU). With these "
            "settings expect roughly "
            f"{_duration(per_here)} per epoch, up to about {_duration(per_here * epochs)} for {epochs} epochs. For "
            "a first try, set Most epochs to 3: the bar shows the time left once the first epoch is done, and "
            "Stop keeps the best model so far.")


def _start_training(cfg: TrainConfig, source: user_data.PairSource, start_model: str, out: Path) -> Job:
    import copy

    from devocore.train.segmentation import train

    shared = None if start_model == SCRATCH else ui_cache.model(start_model)
    command = f"Devoscope Train view ({cfg.task}, start: {start_model})"

    def run(stop, record):
        # one heavy job at a time under the cloud profile: the run waits here while another visitor's runs
        with deploy.heavy_job(lambda seconds: job.report(0.0, f"{deploy.WAIT_LINE} Waiting for {seconds:.0f} s.")):
            job.report(0.0, "training")  # the bar stops saying that the run waits once it may start
            model = None if shared is None else copy.deepcopy(shared)  # made once the run may start, not queued
            result = train(cfg, out=out, progress=job.report, command=command, model=model, data=source,
                           stop=stop, on_epoch=record)
            del model
            if config.is_cloud():  # the best checkpoint is in `out`: no visitor keeps a model in the server's memory
                result["model"] = None  # let go before the next visitor's job may start
        return result

    job = Job(run)
    return job.start()


st.title("Train")
st.caption("Fine-tune a segmentation model on your own labelled images (or train one from scratch), see whether "
           "it beats the model you started from and the classical method, then save it: the Segmentation view "
           "offers it from then on.")

# ----------------------------------------------------------------------------- 1. data
st.subheader("1. Your data")
left, right = st.columns(2)
with left:
    task = st.radio("Task", ["nucleus", "membrane"], key="train_task", horizontal=True,
                    index=common.choice_index(["nucleus", "membrane"], common.param("train_task", "nucleus")))
    common.set_param("train_task", task)
    source_kind = st.radio("Pairs", SOURCES, key="train_source", horizontal=True,
                           index=common.choice_index(SOURCES, common.param("train_source", "Example")))
    common.set_param("train_source", source_kind)
with right:
    mask_kinds = ["binary (black/white)", "instance labels (one number per cell)"]
    mask_kind = st.radio("Masks", mask_kinds, key="train_mask_kind", horizontal=True,
                         index=1 if common.param("train_masks_are", "binary") == "labels" else 0)
    binary = mask_kind.startswith("binary")
    common.set_param("train_masks_are", "binary" if binary else "labels")
    group_by = st.text_input("Group files by (regular expression, optional)", common.param("train_group_by", ""),
                             key="train_group_by",
                             help="e.g. ^(emb\\d+) keeps all files of one embryo on the same side of the "
                                  "train/validation split")
    common.set_param("train_group_by", group_by)

with common.guard("reading the data"):
    if source_kind == "Example":
        images_dir, masks_dir = _example_folder(task)
        st.caption(f"Example: 12 simulated {task} images of 128 x 128 px, drawn as another microscope would show "
                   "them (blurred, Gaussian noise, bright background), with binary masks.")
    elif source_kind == "Upload a ZIP":
        upload = st.file_uploader("ZIP with an images/ folder and a masks/ folder (matched by file name)",
                                  type=io.upload_types("zip"), key="train_upload")
        common.limits_caption("image")
        if upload is None:
            st.info("Upload a ZIP, choose a server folder, or use the example.")
            st.stop()
        images_dir, masks_dir = user_data.find_pair_folders(common.stage_upload(upload, kind="zip"))
    else:
        st.caption(f"Folders are read (never written) under {config.data_root()}.")
        a, b = st.columns(2)
        images_text = a.text_input("Image folder", common.param("train_images", ""), key="train_images")
        masks_text = b.text_input("Mask folder", common.param("train_masks", ""), key="train_masks")
        common.set_param("train_images", images_text)
        common.set_param("train_masks", masks_text)
        if not images_text or not masks_text:
            st.info("Type the two folders, relative to the data folder.")
            st.stop()
        images_dir, masks_dir = config.server_folder(images_text), config.server_folder(masks_text)

with common.guard("checking the data"):
    dataset = user_data.load_dataset(images_dir, masks_dir, task, binary, group_by or None)
sizes = sorted({im.shape for im in dataset.images})
st.success(f"{len(dataset)} pairs matched by name; image sizes {', '.join(f'{w} x {h}' for h, w in sizes[:4])}"
           f"{' ...' if len(sizes) > 4 else ''}; foreground {np.mean([m.mean() > 0 for m in dataset.masks]):.0%} "
           f"of masks non-empty, {np.mean([float((m > 0).mean()) for m in dataset.masks]):.1%} of pixels.")

# ----------------------------------------------------------------------------- 2. settings
st.subheader("2. Settings")
seg_models = [m.name for m in registry.list_models("segmentation")]  # not cached: a save adds one
starts = [m for m in seg_models if task in m] + [m for m in seg_models if task not in m] + [SCRATCH]
c1, c2, c3, c4 = st.columns(4)
bounds = config.train_bounds()  # the public demo's limits (cloud profile), else None
start_model = c1.selectbox("Start from", starts, key="train_start", index=_choice("train_start", starts, starts[0]),
                           help="fine-tuning a shipped model needs far fewer images than training from scratch")
if start_model == SCRATCH:
    sizes = [64, 128, 256] if bounds else [64, 128, 256, 512]
    size = int(c1.selectbox("Network input size", sizes, index=_choice("train_size", sizes, 256), key="train_size"))
    common.set_param("train_size", size)
    encoder_note = "an FPN with a ResNet-18 encoder, no pre-trained weights"
    keep_aspect = False
else:
    start_card = registry.find_model(start_model).card
    size, keep_aspect = int(start_card.get("input_size", 256)), bool(start_card.get("keep_aspect", False))
    encoder_note = f"{start_model}'s network"
c1.caption(f"{encoder_note}; images are resized to "
           f"{f'{size} px on their short side (aspect kept)' if keep_aspect else f'{size} x {size} px'}, as at inference.")
most_epochs, most_steps = (bounds["epochs"], bounds["steps"]) if bounds else (500, 1000)
batches = [b for b in [2, 4, 8, 16] if not bounds or b <= bounds["batch"]]
epochs = c2.number_input("Most epochs", 1, most_epochs, _number("train_epochs", min(20, most_epochs), 1, most_epochs, int),
                         key="train_epochs")
steps = c2.number_input("Batches per epoch", 1, most_steps, _number("train_steps", min(20, most_steps), 1, most_steps, int),
                        key="train_steps")
batch = c2.selectbox("Batch size", batches, index=_choice("train_batch", batches, batches[-1] if bounds else 8),
                     key="train_batch")
# the public demo fine-tunes only the decoder: no gradients or optimizer moments for the encoder (about 130 MB less)
freeze = bool(bounds) and start_model != SCRATCH
if bounds:
    c2.caption(f"On this public demo a run has at most {most_epochs} epochs of {most_steps} batches of "
               f"{batches[-1]} images, and one training runs at a time; run Devoscope on your own computer for "
               "longer runs.")
if freeze:
    c1.caption("On this public demo fine-tuning trains only the decoder; the encoder keeps its weights.")
lr = c3.number_input("Learning rate", 1e-6, 1.0,
                     float(st.session_state.get("train_lr_value", _number("train_lr", 1e-3, 1e-6, 1.0))),
                     format="%.2e", key="train_lr")
schedule = c3.selectbox("Schedule", ["plateau", "onecycle"], key="train_schedule",
                        index=_choice("train_schedule", ["plateau", "onecycle"], "plateau"),
                        help="plateau: halve the rate when validation stops improving; onecycle: warm up, then anneal")
patience = c3.number_input("Early stopping patience (epochs)", 1, 100, _number("train_patience", 6, 1, 100, int),
                           key="train_patience")
loss = c4.selectbox("Loss", list(LOSSES), key="train_loss", index=_choice("train_loss", list(LOSSES), list(LOSSES)[0]))
fg_weight = c4.slider("Foreground weight (BCE)", 0.25, 8.0, _number("train_fg_weight", 1.0, 0.25, 8.0), 0.25,
                      key="train_fg_weight",
                      help="above 1: fewer missed pixels, more false ones (over- rather than under-segmentation)")
strength = c4.slider("Augmentation strength", 0.0, 1.0, _number("train_aug", 0.7, 0.0, 1.0), 0.1, key="train_aug")
val_fraction = c4.slider("Validation share", 0.1, 0.5, _number("train_val_fraction", 0.2, 0.1, 0.5), 0.05,
                         key="train_val_fraction")
for key, value in (("train_start", start_model), ("train_epochs", int(epochs)), ("train_steps", int(steps)),
                   ("train_batch", int(batch)), ("train_lr", f"{lr:.3g}"), ("train_schedule", schedule),
                   ("train_patience", int(patience)), ("train_loss", loss), ("train_fg_weight", f"{fg_weight:g}"),
                   ("train_aug", f"{strength:g}"), ("train_val_fraction", f"{val_fraction:g}")):
    common.set_param(key, value)
crop = min(128, size) if size >= 128 else size
cfg = TrainConfig(task=task, epochs=int(epochs), steps=int(steps), batch=int(batch), crop=crop, size=size,
                  lr=float(lr), patience=int(patience), loss=loss, fg_weight=float(fg_weight), schedule=schedule,
                  aug_strength=float(strength), decoder_channels=256, minutes=600.0, bf16=True,
                  freeze_encoder=freeze, keep_aspect=keep_aspect)
with common.guard("splitting the data"):
    source = user_data.prepare(dataset, cfg, val_fraction, seed=0)
n_val = len(source.val_set)
st.caption(f"Split by {'group' if group_by else 'file'}: {len(source.train_set)} for training, "
           f"{n_val} for validation ({', '.join(source.val_set.names[:6])}"
           f"{' ...' if n_val > 6 else ''})."
           + (f" With under {FEW_VAL_IMAGES} validation images the scores below are rough: they can change a lot "
              "with other images." if n_val < FEW_VAL_IMAGES else ""))
train_channels.render(source.val_set.images[0], source.val_set.masks[0], task)  # multi-channel, fg weight (#30)

# ----------------------------------------------------------------------------- 3. augmentation preview
with st.expander("3. Augmentation preview", expanded=False):
    number = st.slider("Image", 1, len(dataset), min(len(dataset), max(1, common.param("train_preview", 1, int))),
                       key="train_preview_index", help="images are numbered from 1, in name order")
    common.set_param("train_preview", number)
    k = number - 1
    image = dataset.images[k]
    grid = preview(image, user_data.target(task, dataset.masks[k], binary), n=8, strength=strength, seed=k)
    st.image(grid, caption=f"8 augmented versions of image {number} of {len(dataset)}, {dataset.names[k]} (red: "
                           "the mask's outline, moved with the image)", width="stretch")

# ----------------------------------------------------------------------------- 4. learning-rate finder
with st.expander("4. Learning-rate finder", expanded=False):
    st.caption("Trains a copy of the start model for 40 batches with the rate growing from 1e-6 to 1; the "
               "suggested rate is where the loss falls fastest.")
    if st.button("Find the learning rate", key="train_lr_find"):
        from devocore.train.lr_finder import find_lr
        from devocore.train.segmentation import build

        with common.guard("the learning-rate finder"), ui_cache.job():
            net = build(cfg)[0] if start_model == SCRATCH else ui_cache.model(start_model)
            bar = common.progress_bar("Sweeping...")
            st.session_state["train_lr_result"] = find_lr(net, source, loss=loss, fg_weight=fg_weight, progress=bar,
                                                              freeze_encoder=freeze)
            bar.done()
    found = st.session_state.get("train_lr_result")
    if found is not None:
        fig = go.Figure(go.Scatter(x=found.rates, y=found.losses, mode="lines", name="loss"))
        fig.add_vline(x=found.suggested, line_dash="dash", annotation_text=f"suggested {found.suggested:.1e}")
        fig.update_xaxes(type="log", title="learning rate")
        fig.update_layout(height=300, margin=dict(l=0, r=0, t=20, b=0), yaxis_title="loss (smoothed)")
        st.plotly_chart(fig, key="train_lr_plot")
        if st.button(f"Use {found.suggested:.1e}", key="train_lr_use"):
            st.session_state["train_lr_value"] = found.suggested
            st.session_state.pop("train_lr", None)
            st.rerun()

# ----------------------------------------------------------------------------- 5. tuning
with st.expander("5. Hyperparameter search (Optuna)", expanded=False):
    st.caption("Short runs over learning rate, batch size, foreground weight and augmentation strength; hopeless "
               "trials are pruned early.")
    t1, t2 = st.columns(2)
    most_trials, most_trial_epochs = (bounds["trials"], bounds["trial_epochs"]) if bounds else (100, 50)
    trials = t1.number_input("Trials", 2, most_trials, min(6, most_trials), key="train_trials")
    trial_epochs = t2.number_input("Epochs per trial", 1, most_trial_epochs, min(3, most_trial_epochs),
                                   key="train_trial_epochs")
    if st.button("Search", key="train_tune"):
        from devocore.train.tuning import tune

        make_source = finetune.source_maker(source, size, crop)
        with common.guard("the search"), ui_cache.job():
            start = None if start_model == SCRATCH else ui_cache.model(start_model)
            bar = common.progress_bar("Searching...")
            st.session_state["train_tune_result"] = tune(replace(cfg, epochs=int(trial_epochs)), make_source,
                                                         int(trials), start, progress=bar)
            bar.done(f"{int(trials)} trials run.")
    tuned = st.session_state.get("train_tune_result")
    if tuned is not None:
        trials_shown = tuned.trials.assign(number=tuned.trials["number"] + 1) if "number" in tuned.trials \
            else tuned.trials
        st.dataframe(trials_shown, hide_index=True, key="train_trials_table", column_config=common.number_columns({
            "number": ("trial", None, "numbered from 1"), "val_iou": ("validation IoU", "%.3f"),
            "lr": ("learning rate", "%.1e"), "fg_weight": ("foreground weight", "%.2f"),
            "aug_strength": ("augmentation", "%.2f"), "seconds": ("time (s)", "%.1f")}))
        best = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in tuned.best_params.items())
        st.caption(f"Best validation IoU {tuned.best_iou:.3f} with {best}.")
        if tuned.best_params and st.button("Use the best learning rate", key="train_tune_use"):
            st.session_state["train_lr_value"] = tuned.best_params["lr"]
            st.session_state.pop("train_lr", None)
            st.rerun()

# ----------------------------------------------------------------------------- 6. training
st.subheader("6. Train")
job: Job | None = st.session_state.get("train_job")
if not (job and job.running):
    st.info(_expected_time(int(epochs), int(steps), int(batch), crop, start_model, size))
b1, b2 = st.columns(2)
if b1.button("Start training", key="train_start_button", type="primary", disabled=bool(job and job.running)):
    out = common.session_dir() / f"checkpoint-{len(st.session_state.get('train_runs', [])) + 1}"
    st.session_state["train_job"] = job = _start_training(cfg, source, start_model, out)
    st.session_state["train_job_info"] = {"out": str(out), "start": start_model, "task": task, "size": size,
                                          "epochs": int(epochs), "steps": int(steps), "batch": int(batch),
                                          "images": int(steps) * int(batch), "val_images": n_val}
    st.session_state.setdefault("train_runs", []).append(str(out))
if b2.button("Stop (keep the best so far)", key="train_stop_button", disabled=not (job and job.running)):
    job.stop()


# Poll only while a run is going: a page that reruns itself every second when nothing runs costs the server CPU
# and its timer reruns race the visitor's own clicks.
polling = job is not None and job.running


@st.fragment(run_every=1.0 if polling else None)
def _live() -> None:
    job = st.session_state.get("train_job")
    if job is None:
        st.info("Set the options above and start training.")
        return
    fraction, message = job.progress
    most = int(st.session_state["train_job_info"].get("epochs", 1))
    if job.running:
        text = _running_text(job.history, most, message, time.time() - job.started)
        st.progress(min(1.0, fraction), text=("stopping... " if job.stopping else "") + text)
    elif job.result is not None:  # finished: the bar is full, and says why it ended before the last epoch
        run = int(job.result["epochs"])
        why = ("stopped by you" if job.stopping else "stopped early (validation stopped improving)")
        st.progress(1.0, text=f"{why} at epoch {run} of {most}" if run < most else f"all {most} epochs done")
    if job.history:
        history = pd.DataFrame(job.history)
        a, b = st.columns(2)
        a.plotly_chart(_line(history, ["train_loss", "val_loss"], "Loss", "loss (lower is better)"),
                       key="train_loss_plot")
        b.plotly_chart(_line(history, ["val_iou", "val_dice"], "Validation IoU and Dice",
                             "overlap with your masks (0-1)"), key="train_metric_plot")
    if job.error:
        st.error(f"Training failed: {job.error}")
    elif not job.running and job.result is not None:
        r = job.result
        n = st.session_state["train_job_info"].get("val_images")
        st.success(f"Done: best epoch {r['epoch']} of {r['epochs']}, validation IoU {r['val_iou']:.3f}, "
                   f"Dice {r.get('val_dice', 0):.3f}" + (f" on {n} validation image{'' if n == 1 else 's'}"
                                                         if n else "") + f", in {_duration(r['seconds'])}"
                   + (" (stopped by you)" if job.stopping else "") + ".")
    if polling and not job.running:
        # the run ended (done or failed) since the last full run: a full rerun draws the sections below and stops
        # the polling. Should this request be lost among the timer's own reruns, the next tick asks again.
        st.rerun(scope="app")


_live()
if job is None or job.running or job.result is None:
    st.stop()

# ----------------------------------------------------------------------------- 7. comparison
st.subheader("7. Comparison on your validation images")
info = st.session_state["train_job_info"]
others = st.multiselect("Also score", [m for m in seg_models if m != info["start"]], key="train_compare_more")
if st.button("Compare", key="train_compare") or "train_compare_table" in st.session_state:
    if st.session_state.get("train_compare_for") != (info["out"], tuple(others)):
        with common.guard("comparing"), ui_cache.job():
            trained = job.result["model"] or registry.load_folder(info["out"], "the model trained here")
            trained.card = json.loads((Path(info["out"]) / registry.CARD).read_text())
            start = None if info["start"] == SCRATCH else ui_cache.model(info["start"])
            bar = common.progress_bar("Scoring...")
            st.session_state["train_compare_table"] = finetune.comparison(
                trained, "trained here", task, source, start=start, start_name=f"{info['start']} (start)",
                others={name: ui_cache.model(name) for name in others}, progress=bar)
            bar.done()
            st.session_state["train_compare_for"] = (info["out"], tuple(others))
    table = st.session_state["train_compare_table"]
    scored = int(table["images"].max()) if len(table) else 0
    st.caption(f"Scores on {scored} validation image{'' if scored == 1 else 's'} (held out of training), the same "
               "images for every model.")
    if scored < FEW_VAL_IMAGES:
        st.warning(f"Only {scored} validation image{'' if scored == 1 else 's'}: too few to trust these figures. "
                   "They can change a lot with other images, so a small difference between two models may not "
                   f"hold on the rest of your data. Aim for {FEW_VAL_IMAGES} or more validation images (more "
                   "pairs, or a larger validation share) before choosing a model from this table.",
                   icon=":material/warning:")
    st.dataframe(table, hide_index=True, key="train_compare_df", column_config={
        **{c: st.column_config.NumberColumn(c if c != "iou" else "IoU", format="%.3f")
           for c in ("iou", "dice", "f1", "precision", "recall")},
        "images": st.column_config.NumberColumn("images", format="%d")})
    st.download_button("Comparison (CSV)", table.to_csv(index=False), "comparison.csv", "text/csv",
                       key="train_compare_dl")

# ----------------------------------------------------------------------------- 8. save and use
st.subheader("8. Save and use")
name = st.text_input("Model name", f"{task}-{'finetuned' if info['start'] != SCRATCH else 'scratch'}",
                     key="train_name")
if st.button("Save to my models", key="train_save"):
    with common.guard("saving"):
        saved_info = registry.publish(info["out"], name)
        ui_cache.models_table.clear()
        st.session_state["train_saved"] = saved_info.name
saved = st.session_state.get("train_saved")
if saved:
    st.success(f"Saved as '{saved}' in {config.user_model_dir()}. The Segmentation view lists it now.")
    st.page_link(str(common.PAGES_DIR / "segmentation.py"), label=f"Segment with {saved}", icon=":material/blur_on:",
                 query_params={"seg_model": saved})

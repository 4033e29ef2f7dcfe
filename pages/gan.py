"""GAN sampler: synthetic embryo frames on demand, what the lineage model sees in them, and training."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import plotly.express as px
import streamlit as st

from devocore import gan, io, registry, style, ui_cache
from devocore.errors import ModelError
from devocore.train import gan as gan_train
from pages import common

common.route_through_app()  # a fresh server whose first visitor opens this page's URL: route via app.py

st.title("GAN sampler")
st.caption("A generator makes new embryo frames from a seed; the same seed always gives the same images. "
           "What the chosen generator was trained on, and how good it is, is stated under the samples (from its "
           "model card).")
SAMPLE_PX = 200  # each sample is shown at least this wide, whatever the generator's size


@dataclass(frozen=True)
class SampleConfig:
    model: str
    n: int
    seed: int
    truncation: float


# ----------------------------------------------------------------------------- the model card, in words


def plain_training_data(text: str) -> str:
    """The card's ``training_data`` for a reader: a trailing bracket that only serves to rebuild the model
    (module names, source hashes) becomes "made by Devoscope's embryo simulator"."""
    found = re.match(r"^(.*\S)\s*\(([^()]*)\)\s*$", text or "")
    if not found or not any(mark in found.group(2) for mark in ("devocore.", "hash")):
        return text
    made_by = " made by Devoscope's embryo simulator (see the Simulator page)" \
        if "simulate.embryo" in found.group(2) else ""
    return found.group(1) + made_by


def card_fields(info: registry.ModelInfo) -> dict[str, str]:
    """What a biologist wants to know from a generator's card, in words: {field: text}."""
    card = info.card
    metrics = card.get("metrics") or {}
    size = card.get("input_size") or (card.get("config") or {}).get("size")
    trained_on = plain_training_data(card.get("training_data") or "") or "not recorded on its card"
    if size:
        trained_on += f"; images of {size} x {size} pixels"
    held_out = metrics.get("eval_held_out") or {}
    if "fid" in held_out:
        quality = (f"FID {held_out['fid']:.2f} (Fréchet distance between generated and real frames, no unit; "
                   "lower is better, 0 = indistinguishable), measured on "
                   f"{held_out.get('n', '?')} samples against simulated frames it never saw. For comparison: a "
                   "trivial generator (the mean image plus noise) scores "
                   f"{held_out.get('trivial_fid', float('nan')):.1f}, and real frames against other real frames "
                   f"{held_out.get('real_fid', float('nan')):.2f}.")
    else:
        quality = ("not measured: its card records no test on images it never saw (training losses do not tell "
                   "how good the images are; judge the samples above).")
    steps = (card.get("training") or {}).get("steps") or metrics.get("steps")
    training = f"{steps:,} training step{'s' if steps != 1 else ''}" if steps else "not recorded"
    if metrics.get("minutes"):
        training += f" in {metrics['minutes']:.0f} min"
    terms = card.get("data_terms") or card.get("licence") or card.get("license")
    if not terms:
        data = (card.get("training_data") or "").lower()
        if info.source == "user" and " images from " in f" {data}":
            terms = "trained on images you uploaded: the terms of those images apply."
        elif "simulat" in data:
            terms = registry.SIMULATED_DATA_TERMS
        else:
            terms = "not recorded on its card."
    return {"Trained on": trained_on, "How good": quality, "Training": training, "Data and terms": terms}


def show_card(info: registry.ModelInfo) -> None:
    """The card as readable fields, then the raw card (with the training command) in a closed expander."""
    st.markdown("  \n".join(f"**{field}:** {text}" for field, text in card_fields(info).items()))
    with st.expander("Full model card, for reproducing this model (training command and settings)",
                     expanded=False):
        st.caption(f"'{info.name}' ({'comes with Devoscope' if info.source == 'shipped' else 'one of your models'}"
                   f", stored in {info.folder}).")
        st.json({k: info.card.get(k) for k in ("architecture", "config", "training", "training_data",
                                               "training_command", "metrics") if k in info.card})


# ----------------------------------------------------------------------------- sampling

models = [m for m in registry.list_models("gan")]
if not models:
    st.info("No generator is installed yet. Train one in the section below.", icon=":material/info:")
else:
    names = [m.name for m in models]
    labels = {m.name: m.label() for m in models}
    left, middle, right, last = st.columns(4)
    name = left.selectbox("Generator", names, index=common.choice_index(names, common.param("model", names[0])),
                          format_func=labels.get, key="gan_model")
    n = middle.number_input("Samples", 1, 64, common.param("n", 8, int), key="gan_n")
    seed = right.number_input("Seed", 0, 2**31 - 1, common.param("seed", 0, int), key="gan_seed")
    truncation = last.slider("Truncation", 0.1, 1.0, common.param("psi", 1.0, float), 0.05, key="gan_psi",
                             help="Lower values give more typical, less varied images (latents shrunk "
                                  "towards the mean); 1 = no truncation.")
    for key, value in (("model", name), ("n", n), ("seed", seed), ("psi", truncation)):
        common.set_param(key, value)
    cfg = SampleConfig(name, int(n), int(seed), float(truncation))
    info = next(m for m in models if m.name == name)
    colour = info.card.get("tint", "green")
    with common.guard("sampling"):
        images = ui_cache.gan_samples(cfg.model, cfg.n, cfg.seed, cfg.truncation)
    shown = gan.tint(images, colour)
    st.caption(f"{len(images)} samples from seed {seed}, numbered from 1; truncation {truncation:.2f}; "
               f"{images.shape[1]} x {images.shape[2]} pixels each, shown enlarged.")
    per_row = 4
    for start in range(0, len(shown), per_row):
        columns = st.columns(per_row)
        for k in range(start, min(start + per_row, len(shown))):
            columns[k - start].image(shown[k], width=SAMPLE_PX, caption=f"sample {k + 1} · seed {seed}")
    st.download_button("Download the samples (ZIP of PNGs)", gan.zip_pngs(shown, f"gan_seed{seed}"),
                       file_name=f"gan_samples_seed{seed}.zip", mime="application/zip", key="gan_zip")
    show_card(info)

    st.subheader("Interpolation between two seeds")
    a_col, b_col, s_col = st.columns(3)
    seed_a = a_col.number_input("From seed", 0, 2**31 - 1, common.param("seed_a", int(seed), int), key="gan_seed_a")
    seed_b = b_col.number_input("To seed", 0, 2**31 - 1, common.param("seed_b", int(seed) + 1, int),
                                key="gan_seed_b")
    steps = s_col.slider("Frames", 4, 48, common.param("steps", 16, int), key="gan_steps")
    for key, value in (("seed_a", seed_a), ("seed_b", seed_b), ("steps", steps)):
        common.set_param(key, value)
    with common.guard("interpolating"):
        frames = gan.tint(ui_cache.gan_interpolation(name, int(seed_a), int(seed_b), int(steps), float(truncation)), colour)
    movie = gan.gif_bytes(frames, fps=8)
    st.image(movie, width=max(SAMPLE_PX, 256), caption=f"seed {seed_a} -> seed {seed_b} and back (first and last frames are the "
                            "first samples of the two seeds)")
    st.download_button("Download the animation (GIF)", movie, file_name=f"gan_{seed_a}_to_{seed_b}.gif",
                       mime="image/gif", key="gan_gif")

    st.subheader("What the lineage model sees in the samples")
    lineage_models = registry.list_models("lineage")
    if not lineage_models:
        st.info("No lineage model is installed, so the samples cannot be scored. Train one with "
                "`python -m devocore train lineage`.", icon=":material/info:")
    else:
        with common.guard("predicting lineage populations"):
            table = ui_cache.gan_populations(cfg.model, cfg.n, cfg.seed, cfg.truncation, lineage_models[0].name)
        table = table.assign(sample=table["sample"] + 1)  # numbered from 1, like the pictures above
        st.caption(f"Each sample judged on its own by '{lineage_models[0].name}' (populations of the "
                   f"seven founder lineages; samples numbered from 1 as above, seed {seed}).")
        st.dataframe(table, hide_index=True)
        letters = [c for c in table.columns if c in style.LINEAGES]
        long = table.melt(id_vars="sample", value_vars=letters, var_name="lineage", value_name="cells")
        long["lineage"] = long["lineage"].map(style.lineage_label)
        bars = px.bar(long, x="sample", y="cells", color="lineage", title="Predicted populations",
                      color_discrete_map={style.lineage_label(k): style.lineage_hex(k) for k in letters},
                      category_orders={"lineage": [style.lineage_label(k) for k in letters]},
                      labels={"sample": "sample (numbered from 1)", "cells": "cells (predicted)"})
        bars.update_xaxes(dtick=1)
        st.plotly_chart(bars, key="gan_populations")
        st.download_button("Download the table (CSV)", table.to_csv(index=False), file_name="gan_populations.csv",
                           mime="text/csv", key="gan_pop_csv")

# ----------------------------------------------------------------------------- training

st.divider()
st.subheader("Train a generator on your images")
st.caption("Upload a ZIP of PNG/JPEG/TIFF images (or use simulated frames). Images are turned grey and "
           "centre-cropped square. On a laptop CPU, expect about a second per step at 128 x 128.")
source = st.radio("Images", ["Simulated embryo frames (example)", "Upload a ZIP"], horizontal=True,
                  key="gan_train_source")
upload = st.file_uploader("ZIP of images", type=io.upload_types("zip"), key="gan_train_zip") \
    if source == "Upload a ZIP" else None
if source == "Upload a ZIP":
    common.limits_caption("image")
c1, c2, c3, c4 = st.columns(4)
size = c1.selectbox("Image size", [32, 64, 128], index=2, key="gan_train_size")
train_steps = c2.number_input("Steps", 1, 100_000, 500, key="gan_train_steps")
every = c3.number_input("Live samples every N steps", 1, 10_000, 50, key="gan_train_every")


def free_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``, ... : the first that no model has."""
    if wanted not in taken:
        return wanted
    return next(f"{wanted}-{k}" for k in range(2, len(taken) + 3) if f"{wanted}-{k}" not in taken)


existing = {m.name: m for m in registry.list_models()}  # any task: a user model's folder holds one model
model_name = c4.text_input("Save as", free_name("my-gan", set(existing)), key="gan_train_name",
                           help="The name under which the trained generator appears in the Generator menu.")
replace, clean = False, None
try:
    clean = registry.model_name(model_name)
except ModelError as exc:
    st.error(str(exc), icon=":material/error:")
if clean in existing and existing[clean].source != "user":
    st.error(f"'{clean}' is the name of a model that comes with Devoscope; choose another name, for example "
             f"'{free_name(clean, set(existing))}'.", icon=":material/error:")
elif clean in existing:
    st.warning(f"You already have a model called '{clean}' (a {existing[clean].task or 'saved'} model). Saving "
               f"under this name would replace it. To keep it, choose another name, for example "
               f"'{free_name(clean, set(existing))}'.", icon=":material/warning:")
    # one box per name, and a fresh (unticked) one after every save: a tick replaces one model once
    replace = st.checkbox(f"Replace my existing model '{clean}'",
                          key=f"gan_train_replace_{clean}_{st.session_state.get('gan_saves', 0)}")
can_save = clean is not None and (clean not in existing or replace)  # else both buttons are greyed out
start, stop = st.columns(2)
start_clicked = start.button("Start training", type="primary", key="gan_train_start", disabled=not can_save)
stop_clicked = stop.button("Stop and save", key="gan_train_stop", disabled=not can_save)
start_clicked, stop_clicked = start_clicked and can_save, stop_clicked and can_save


def _save(trainer: gan_train.GanTrainer, label: str) -> None:
    with common.guard("saving"):
        clean = registry.model_name(label)
        staged = trainer.save(common.session_dir() / f"gan-model-{clean}", {
            "training_data": st.session_state.get("gan_train_data", ""),
            "training_command": "Devoscope GAN page",
            "metrics": {"steps": trainer.step_count,
                        "last_loss_d": round(trainer.history[-1]["loss_d"], 4) if trainer.history else None}})
        # an existing model of that name is replaced only when the user ticked the box for it (publish refuses else)
        info = registry.publish(staged.folder, clean, replace=replace)
    ui_cache.models_table.clear()
    st.session_state["gan_saves"] = st.session_state.get("gan_saves", 0) + 1
    st.success(f"Saved as '{clean}' after {trainer.step_count} training steps (listed under your models: pick it "
               "in the Generator menu above).", icon=":material/check_circle:")
    with st.expander("Where it is stored on the server", expanded=False):
        st.caption(str(info.folder))


if stop_clicked and "gan_trainer" in st.session_state:
    _save(st.session_state["gan_trainer"], model_name)  # a bad name stops here and keeps the trainer
    st.session_state.pop("gan_trainer")
elif start_clicked:
    with common.guard("reading the training images"):
        if source == "Upload a ZIP":
            if upload is None:
                st.warning("Upload a ZIP of images first.")
                st.stop()
            folder = common.stage_upload(upload, kind="zip")
            images = gan_train.load_image_folder(folder, int(size))
            st.session_state["gan_train_data"] = f"{len(images)} images from {upload.name}"
        else:
            images = ui_cache.embryo_frames(32, int(size))
            st.session_state["gan_train_data"] = f"{len(images)} simulated embryo frames"
        trainer = gan_train.GanTrainer(images, gan_train.GanConfig(size=int(size), batch=min(32, len(images))))
    st.session_state["gan_trainer"] = trainer
    slot = st.empty()  # the progress bar goes once training ends
    with slot.container():
        bar = common.progress_bar("Training...")
    live, chart = st.empty(), st.empty()

    def show(t: gan_train.GanTrainer) -> None:
        live.image(gan.grid(gan.tint(gan.sample(t.ema, 8, seed=0)), columns=8),
                   caption=f"Samples at step {t.step_count} (seed 0)")
        losses = pd.DataFrame(t.history).rename(columns={"step": "training step", "loss_d": "discriminator",
                                                        "loss_g": "generator"})
        losses = losses.melt(id_vars="training step", value_vars=["discriminator", "generator"],
                             var_name="network", value_name="loss")
        chart.line_chart(losses, x="training step", y="loss", color="network",
                         x_label="training step (one batch of images each)", y_label="loss")

    with ui_cache.job():
        trainer.run(int(train_steps), progress=bar, every=int(every), on_every=show)
    slot.empty()
    show(trainer)
    _save(st.session_state["gan_trainer"], model_name)  # a bad name stops here and keeps the trainer
    st.session_state.pop("gan_trainer")
elif "gan_trainer" in st.session_state:
    st.info("A training run was interrupted; press 'Stop and save' to keep it.", icon=":material/info:")

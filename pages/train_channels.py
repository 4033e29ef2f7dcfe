"""Train view, multi-channel part (issue 30): tiles from a large image, channel-recipe comparison, and what the
foreground weight does. Called from pages/train.py; not a page of its own (``render`` draws its sections)."""
from __future__ import annotations

import hashlib
import io as _bytes
import tempfile
from pathlib import Path

import numpy as np
import streamlit as st

from devocore import channels, config, ui_cache
from devocore.errors import DevocoreError
from pages import common

FG_WEIGHTS = (0.5, 1.0, 4.0)
DEFAULT_RECIPES = "0\n1\n3\nmerge(0,1)\n0; 3"
# The measured comparison in docs/results/multichannel.md: 40 planes (10 held out), 6 epochs x 15 batches of 4
# per model, 107-255 s of training per model on a 2-core CPU; recipes then differ by up to IoU 0.34.
RANKING_EPOCHS, RANKING_STEPS, RANKING_IMAGES, RANKING_HELD_OUT = 6, 15, 40, 10
NEAR_ZERO = 0.15  # best held-out IoU and F1 below this: no model learned enough for a ranking
NETWORKS = {"fpn": "FPN (ResNet-18)", "unet34-ps": "U-Net (ResNet-34, pixel shuffle)"}
# the recipe table's columns, named for people: (label, format, what it is)
TABLE_COLUMNS = {
    "iou": ("IoU (mean over held-out images)", "%.3f", "pixel IoU of the foreground, 0-1, higher is better"),
    "iou_std": ("IoU spread (sd)", "%.3f", "standard deviation of the IoU over the held-out images"),
    "iou_iqr": ("IoU IQR", "%.3f", "interquartile range of the IoU over the held-out images"),
    "f1": ("instance F1 (mean)", "%.3f", "share of cells found and outlined (a cell counts at IoU > 0.5), 0-1"),
    "f1_std": ("instance F1 spread (sd)", "%.3f", "standard deviation of the F1 over the held-out images"),
    "f1_iqr": ("instance F1 IQR", "%.3f", "interquartile range of the F1 over the held-out images"),
    "dice": ("Dice (mean)", "%.3f", "pixel Dice of the foreground, 0-1"),
    "images": ("held-out images", "%d", "images scored (never used for training or for choosing the epoch)"),
    "epochs": ("epochs run", "%d", None),
    "seconds": ("training time (s)", "%.0f", None)}


@ui_cache.data
def _example_micrograph(size: int = 512, seed: int = 7) -> tuple[str, str]:
    """A simulated 4-channel plane and its nucleus labels, written once per server process (TIFF files)."""
    import tifffile

    from devocore.simulate.hyperstack import render as render_plane

    folder = Path(tempfile.gettempdir()) / f"devoscope-tiles-example-{size}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    image, nuclei, _ = render_plane(seed, size)
    tifffile.imwrite(folder / "hyper.tif", image, imagej=True, metadata={"axes": "CYX"})
    tifffile.imwrite(folder / "hyper_nuclei.tif", nuclei)
    return str(folder / "hyper.tif"), str(folder / "hyper_nuclei.tif")


@ui_cache.data
def _example_hyperstacks(n: int = 12, size: int = 64) -> tuple[str, str]:
    """``n`` simulated hyper-labelled planes (images/ and masks/), written once per server process."""
    from devocore.simulate.hyperstack import write_set

    folder = Path(tempfile.gettempdir()) / f"devoscope-hyper-example-{n}-{size}"
    done = write_set(folder, n, size, seed=0)
    return done["images"], done["masks"]


def _example_or_yours(label: str, options: list[str], key: str, example, caption: str, yours):
    """Two paths (images and masks): the bundled example's (``example()``, with ``caption``), or the user's
    (``yours(left column, right column)``, None until both are given)."""
    if st.radio(label, options, key=key, horizontal=True) == options[0]:
        paths = example()
        st.caption(caption)
        return paths
    return yours(*st.columns(2))


def _tiles_step() -> None:
    from devocore import subimages

    st.caption("Cut one tile centred on every cell of a large micrograph (all channels kept), plus cell-free "
               "tiles, for training. Same as `python -m devocore subimages IMAGE --masks MASK --size 128 "
               "--negatives 0.3 --out DIR`.")
    def uploads(a, b):
        up_image = a.file_uploader("Image (TIFF C x Y x X or Y x X x C, PNG)", type=["tif", "tiff", "png"],
                                   key="trainch_tiles_image")
        up_mask = b.file_uploader("Its cell mask (labels or black and white)", type=["tif", "tiff", "png"],
                                  key="trainch_tiles_mask")
        common.limits_caption("image", "stack")
        if up_image is None or up_mask is None:
            st.info("Upload an image and its mask, or use the example.")
            return None
        return common.stage_upload(up_image), common.stage_upload(up_mask)

    with common.guard("reading the image"):
        paths = _example_or_yours("Image", ["Example (simulated 4-channel plane)", "Upload"], "trainch_tiles_source",
                                  _example_micrograph, "Example: a 512 x 512 px simulated embryo plane in 4 channels "
                                  "(nuclear, membrane, cytoplasm, label-free) with its nucleus labels.", uploads)
        if paths is None:
            return
        image_path, mask_path = paths
        image = subimages.read_channels(image_path)
        labels = subimages.read_labels(mask_path)
    c1, c2 = st.columns(2)
    size = int(c1.number_input("Tile side (px)", 16, 1024, 64 if min(image.shape[1:]) < 1024 else 128, 16,
                               key="trainch_tiles_size"))
    share = float(c2.slider("Cell-free tiles per cell tile", 0.0, 1.0, 0.3, 0.05, key="trainch_tiles_negatives"))
    st.caption(f"{image.shape[0]} channel(s), {image.shape[2]} x {image.shape[1]} px, "
               f"{len(np.unique(labels)) - 1} cells in the mask.")
    if st.button("Cut tiles", key="trainch_tiles_button"):
        with common.guard("cutting tiles"):
            tiles = subimages.cut(image, labels, size, share, seed=0)
            digest = hashlib.sha256(f"{image_path}{size}{share}".encode()).hexdigest()[:10]
            out = common.session_dir() / f"tiles-{digest}"
            index = subimages.write(tiles, out, Path(image_path).name)
            st.session_state["trainch_tiles"] = (str(out), index)
    found = st.session_state.get("trainch_tiles")
    if found:
        out, index = found
        n_neg = int(index["negative"].sum())
        st.success(f"{len(index) - n_neg} cell tiles and {n_neg} cell-free tiles.")
        st.dataframe(index, hide_index=True, height=200)
        st.download_button("Download tiles (ZIP: images/, masks/, index.csv)", common.zip_folder(out), "tiles.zip",
                           "application/zip", key="trainch_tiles_download")


def _recipes(text: str) -> list[str]:
    """One recipe per non-empty line, each checked; an error shows where the line goes wrong."""
    found = []
    for line in (ln.strip() for ln in text.splitlines()):
        if not line:
            continue
        try:
            found.append(channels.text(line))
        except channels.RecipeError as exc:
            st.code(exc.pointer(), language=None)
            raise
    if not found:
        raise DevocoreError("Write at least one channel recipe, one per line (e.g. 0, or merge(0,1)).")
    return found


def _compare_step(task: str) -> None:
    from devocore.train.channel_compare import bar_chart, compare_recipes
    from devocore.train.segmentation import TrainConfig

    st.caption("Train one model per channel recipe (same data, seed and budget) and score each on held-out "
               "images: label-free against labelled channels, and both together. Same as `python -m devocore "
               "train compare`. Recipes: `0` a channel; `random(0,1,2)` one of them per sample; `drop(1, 0.3)` "
               "channel 1 blanked 30% of the time; `merge(0,2)` their mean; `merge(0:0.2, 2:0.5)` each merged "
               "with its own probability; `;` joins several model input channels. Channels are numbered from 0. "
               "At inference, random(...) uses its first channel, drop keeps the channel and merge uses all.")
    def folders(a, b):
        images_text = a.text_input("Image folder", "", key="trainch_cmp_images")
        masks_text = b.text_input("Mask folder", "", key="trainch_cmp_masks")
        if not images_text or not masks_text:
            st.info(f"Type the two folders, relative to the data folder {config.data_root()}.")
            return None
        return config.server_folder(images_text), config.server_folder(masks_text)

    with common.guard("reading the data"):
        paths = _example_or_yours("Data", ["Example (12 simulated 4-channel planes)", "Server folder"],
                                  "trainch_cmp_source", _example_hyperstacks, "Channels: 0 nuclear label, 1 membrane "
                                  "label, 2 cytoplasm label, 3 label-free (transmitted-light-like); masks: nuclei.",
                                  folders)
        if paths is None:
            return
        images_dir, masks_dir = paths
    text = st.text_area("Channel recipes (one model each, one per line)", DEFAULT_RECIPES, key="trainch_cmp_recipes")
    c1, c2, c3, c4 = st.columns(4)
    archs = c1.multiselect("Architectures", ["fpn", "unet34-ps"], ["fpn"], key="trainch_cmp_arch",
                           help="fpn: FPN with a ResNet-18 encoder; unet34-ps: U-Net with a ResNet-34 encoder, "
                                "pixel-shuffle upsampling initialised with ICNR")
    epochs = int(c2.number_input("Epochs per model", 1, 200, 2, key="trainch_cmp_epochs"))
    steps = int(c3.number_input("Batches per epoch", 1, 500, 4, key="trainch_cmp_steps"))
    size = int(c4.selectbox("Input size (px)", [64, 128, 256], 0, key="trainch_cmp_size"))
    meaningful = (f"For a comparison that ranks recipes, use about {RANKING_IMAGES} images (so that about "
                  f"{RANKING_HELD_OUT} are held out for the scores) and at least {RANKING_EPOCHS} epochs of "
                  f"{RANKING_STEPS} batches per model (measured: 2-4 min of training per model on a 2-core CPU at "
                  "128 px).")
    if epochs * steps < RANKING_EPOCHS * RANKING_STEPS:
        st.info(f"{epochs} epoch{'' if epochs == 1 else 's'} x {steps} batch{'' if steps == 1 else 'es'} per model "
                "is a quick check that your recipes run, not a comparison: "
                f"the models barely learn, so the scores cannot tell the recipes apart (the default 2 x 4 gave IoU "
                f"below 0.05 for every recipe). {meaningful}",
                icon=":material/info:")
    else:
        st.caption(f"{epochs} epochs x {steps} batches of 4 per model. {meaningful}")
    if st.button("Compare recipes", key="trainch_cmp_button"):
        with common.guard("comparing recipes"):
            recipes = _recipes(text)
            if not archs:
                raise DevocoreError("Choose at least one architecture.")
            cfg = TrainConfig(task=task, epochs=epochs, steps=steps, batch=4, size=size, crop=size,
                              decoder_channels=64, patience=epochs, minutes=30.0, threads=1)
            bar = common.progress_bar("Training one model per recipe...")
            try:
                found = compare_recipes(images_dir, masks_dir, recipes, cfg, tuple(archs), progress=bar)
            finally:
                bar.done()  # a finished (or failed) comparison leaves no bar above its table
            st.session_state["trainch_cmp_result"] = (found.table, found.split)
    result = st.session_state.get("trainch_cmp_result")
    if result:
        table, split = result
        st.caption(f"{split['train']} training, {split['validation']} validation and {split['held_out']} held-out "
                   "images; scores on the held-out images, mean with standard deviation and interquartile "
                   "range over the images (0-1).")
        best = max(float(table["iou"].max()), float(table["f1"].max())) if len(table) else 0.0
        if best < NEAR_ZERO:
            st.warning(f"Every recipe scored near zero (best IoU {table['iou'].max():.3f}, best instance F1 "
                       f"{table['f1'].max():.3f}): the runs were too short for the models to learn, so this table "
                       f"cannot rank the recipes. Run again with at least {RANKING_EPOCHS} epochs of "
                       f"{RANKING_STEPS} batches per model.", icon=":material/warning:")
        elif split["held_out"] < RANKING_HELD_OUT:
            st.caption(f"Only {split['held_out']} held-out images: a difference between recipes smaller than about "
                       "one standard deviation is not a finding.")
        shown = table.assign(arch=table["arch"].map(lambda a: NETWORKS.get(a, a)))
        st.dataframe(shown, hide_index=True, key="trainch_cmp_table", column_config={
            "arch": st.column_config.TextColumn("network"),
            "recipe": st.column_config.TextColumn("channel recipe", help="what the model sees (see above)"),
            **common.number_columns(TABLE_COLUMNS)})
        chart = bar_chart(table)
        st.image(chart, caption="Held-out pixel IoU and instance F1 per recipe (whiskers: one standard deviation)")
        from PIL import Image

        png = _bytes.BytesIO()
        Image.fromarray(chart).save(png, format="PNG")
        a, b = st.columns(2)
        a.download_button("Download table (CSV)", table.to_csv(index=False).encode(), "recipe_comparison.csv",
                          "text/csv", key="trainch_cmp_csv")
        b.download_button("Download bar chart (PNG)", png.getvalue(), "recipe_comparison.png", "image/png",
                          key="trainch_cmp_png")


@ui_cache.data
def fg_weight_picture(image: np.ndarray, mask: np.ndarray, task: str, weights: tuple = FG_WEIGHTS
                      ) -> tuple[np.ndarray, list[float], str]:
    """Outlines of the foreground each weight favours, on one validation image, and the area of each.

    With foreground weight w the weighted BCE is lowest when the network outputs q = w p / (w p + 1 - p) for a
    pixel that is foreground with probability p, so q > 0.5 exactly where p > 1 / (1 + w): the weight moves
    the cut on the calibrated probability. p comes from the shipped model for ``task`` run on the image (or,
    when it cannot run, from the blurred mask). Returns an RGB picture (one panel per weight), the foreground
    area of each as a share of the image, and where p came from.
    """
    from scipy import ndimage as ndi

    from devocore import io, segmentation

    try:
        prob = segmentation.Predictor(ui_cache.model(task), bf16=False, int8=False).probability(image)
        prob = segmentation.resize(prob, np.shape(image)[:2])  # a huge image's map comes at the work size
        source = f"the shipped {task} model"
    except DevocoreError:
        prob = ndi.gaussian_filter((mask > 0).astype(np.float32), 2.0)
        source = "your mask, blurred"
    grey = io.to_uint8(io.to_gray(np.asarray(image)))
    panels, areas = [], []
    for w in weights:
        fg = prob > 1.0 / (1.0 + w)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        edge = fg & ~ndi.binary_erosion(fg)
        rgb[edge] = (255, 60, 60)
        panels.append(np.pad(rgb, ((0, 0), (0, 4), (0, 0)), constant_values=255))
        areas.append(float(fg.mean()))
    return np.concatenate(panels, axis=1)[:, :-4], areas, source


def _fg_weight_step(image: np.ndarray | None, mask: np.ndarray | None, task: str) -> None:
    st.caption("The foreground weight multiplies the loss of missed foreground pixels (binary cross-entropy). "
               "More weight: the model calls a pixel foreground on weaker evidence, so cells come out fuller "
               "and touching ones merge (over-segmentation); less weight: thinner cells and more missed ones. "
               "For BCE the effect is exact: weight w moves the cut on the probability from 0.5 to 1 / (1 + w).")
    if image is None or mask is None:
        st.info("Load your pairs above to see this on one of your validation images.")
        return
    with common.guard("drawing the foreground-weight picture"):
        picture, areas, source = fg_weight_picture(np.asarray(image), np.asarray(mask), task)
    st.image(picture, caption="Red outlines: foreground at weight " + ", ".join(
        f"{w:g} ({a:.1%} of the image)" for w, a in zip(FG_WEIGHTS, areas))
        + f", on your first validation image; probabilities from {source}.", width="stretch")


def render(val_image: np.ndarray | None = None, val_mask: np.ndarray | None = None, task: str = "nucleus") -> None:
    """Draw the multi-channel sections of the Train view.

    Args:
        val_image: one of the user's validation images (for the foreground-weight picture), or None.
        val_mask: its mask.
        task: "nucleus" or "membrane".
    """
    with st.expander("Multi-channel: tiles from a large image", expanded=False):
        _tiles_step()
    with st.expander("Multi-channel: compare channel recipes (label vs label-free)", expanded=False):
        _compare_step(task)
    with st.expander("What the foreground weight does", expanded=False):
        _fg_weight_step(val_image, val_mask, task)

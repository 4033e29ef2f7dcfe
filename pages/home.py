"""Home: what Devoscope does, one card per view."""
from pathlib import Path

import streamlit as st

from pages.common import available_views

ROOT = Path(__file__).resolve().parents[1]

BLURBS = {
    "segmentation": "Cell membranes and nuclei from embryo images, stacks and videos: masks, instances, "
                    "centroids and a per-cell table.",
    "lineage": "How many cells of each lineage (A, E, M, P, C, D, Z) are in every frame of a time-lapse.",
    "gan": "Synthetic embryo images from a trained generator, and what the lineage model says about them.",
    "tracking": "Worms in a video: skeleton, head and tail, head-tail distance, curvature and speed.",
    "pca": "Cell-position tables projected and coloured by lineage and time; a lineage classifier.",
    "forecast": "Forecast worm behaviour with an LSTM, always against simple baselines.",
    "train": "Train or fine-tune models on your own labelled images and compare them.",
    "batch": "Process a whole folder of images and videos on Dask; files that do not fit the task are "
             "skipped with the reason.",
    "simulator": "Generate synthetic embryos and crawling worms with exact ground truth.",
}

st.title("Devoscope")
st.write(
    "Pre-trained deep-learning models for *C. elegans* developmental biology, for biologists who do not "
    "write code. Everything runs on this machine, offline, on your own microscopy files. Every page has "
    "an example to try first."
)

with st.expander("Your files: what Devoscope reads"):
    from devocore.io import MICROSCOPE_STEP

    st.markdown(
        "- **Images and stacks**: PNG, JPEG and TIFF, 8-, 16- or 32-bit, grey, colour or several channels, "
        "compressed or not; z-stacks, time-lapses and hyperstacks. The pixel size and z step a TIFF states "
        "(Fiji saves them) are read.\n"
        "- **Videos**: MOV, MP4, AVI, M4V and MKV; a folder of frames (a ZIP of them on the Lineage and Tracking "
        "pages), where Lineage and Tracking take the numbers in the file names as frame numbers.\n"
        "- **Tables**: CSV or TSV, also Excel's \"Unicode Text\" and tables with decimal commas.\n"
        f"- **A microscope maker's own file** (Zeiss CZI, Nikon ND2, Leica LIF, Olympus, Imaris, ...): "
        f"{MICROSCOPE_STEP}\n"
        "- **Other pictures** (GIF, BMP, WebP, JPEG 2000, HEIC): open them in Fiji and save them as PNG or TIFF "
        "(an animated GIF as a TIFF stack).")

views = available_views()
if not views:
    st.info("No views are installed yet.")
for row in range(0, len(views), 3):
    columns = st.columns(3)
    for column, (stem, title, icon) in zip(columns, views[row:row + 3]):
        with column.container(border=True):
            picture = ROOT / "assets" / "home" / f"{stem}.png"
            if picture.exists():
                st.image(str(picture), width="stretch")
            st.subheader(title)
            st.write(BLURBS.get(stem, ""))
            st.page_link(str(ROOT / "pages" / f"{stem}.py"), label=f"Open {title}", icon=icon)

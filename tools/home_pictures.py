"""The home page's pictures drawn from Devoscope's own output on the bundled examples (assets/home/).

    python tools/home_pictures.py [--out assets/home] [lineage pca train batch]     (default: all four)

lineage.png: the Lineage view's curves on its bundled example movie (predicted thin and dark over annotated broad
and pale); pca.png: the PCA explorer's projection of a bundled example embryo, coloured by founder lineage.
Both are drawn by the same figure functions as `eval lineage --plot` and `eval lineage-classifier --plot-dir`.
train.png: the Train view's augmentation preview of the bundled nucleus image and its mask (outline in red).
batch.png: `batch assets/examples/segmentation --task nucleus`: the overlays it wrote, and the files it skipped.
Each is shrunk to the cards' 480 x 270 px.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARD = (480, 270)
LINEAGE = ROOT / "assets" / "examples" / "lineage"
PCA = ROOT / "assets" / "examples" / "pca"
SEGMENTATION = ROOT / "assets" / "examples" / "segmentation"


def _devocore(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "devocore", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def _card(source: Path, target: Path) -> None:
    """``source`` shrunk into the card's size (aspect kept, white margins)."""
    from PIL import Image

    image = Image.open(source).convert("RGB")
    image.thumbnail(CARD, Image.LANCZOS)
    card = Image.new("RGB", CARD, "white")
    card.paste(image, ((CARD[0] - image.width) // 2, (CARD[1] - image.height) // 2))
    card.save(target)
    print(target)


def _train(tmp: Path, target: Path) -> None:
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from devocore import io
    from devocore.train.augment import preview

    image = io.to_gray(io.read_image(SEGMENTATION / "nuclei.png").data).astype(np.float32)
    image = (image - image.min()) / max(float(np.ptp(image)), 1e-6)
    mask = io.read_image(SEGMENTATION / "nuclei_mask.png").data > 0
    grid = preview(image, mask.astype(np.float32), n=8, strength=1.0, seed=0, columns=4)
    Image.fromarray(grid).save(tmp / "train.png")
    _card(tmp / "train.png", target)


def _batch(tmp: Path, target: Path) -> None:
    import pandas as pd
    from PIL import Image, ImageDraw, ImageFont

    out = tmp / "batch"
    _devocore("batch", str(SEGMENTATION), "--task", "nucleus", "--out", str(out), "--workers", "1")
    summary = pd.read_csv(out / "summary.csv")
    done = summary[summary["status"] == "ok"]
    skipped = summary[summary["status"] == "skipped"]["file"].tolist()
    font = ImageFont.load_default(size=14)
    side, gap = 150, 8
    sheet = Image.new("RGB", (len(done) * (side + gap) + gap, side + 60), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (name, note) in enumerate(zip(done["file"], done["note"].fillna(""))):
        overlay = Image.open(sorted((out / name).glob("overlay*.png"))[0]).convert("RGB")
        overlay.thumbnail((side, side), Image.LANCZOS)
        x = gap + k * (side + gap)
        sheet.paste(overlay, (x + (side - overlay.width) // 2, 24 + (side - overlay.height) // 2))
        # a file done with a note (membranes given to the nucleus task) is shown as Batch lists it: "check"
        draw.text((x + side // 2, 12), f"{name}: {'check' if note else 'ok'}", font=font, anchor="mm",
                  fill="#b35900" if note else "#1a1a1a")
    draw.text((sheet.width // 2, side + 44), f"skipped, with the reason: {', '.join(skipped)}", fill="#666666",
              font=font, anchor="mm")
    sheet.save(tmp / "batch.png")
    _card(tmp / "batch.png", target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pictures", nargs="*", choices=["lineage", "pca", "train", "batch"],
                        default=["lineage", "pca", "train", "batch"])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "home")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "lineage" in args.pictures:
            _devocore("eval", "lineage", "--video", str(LINEAGE / "embryo_timelapse.mov"), "--labels",
                      str(LINEAGE / "embryo_timelapse_populations.csv"), "--plot", str(tmp / "lineage.png"))
            _card(tmp / "lineage.png", args.out / "lineage.png")
        if "pca" in args.pictures:
            _devocore("eval", "lineage-classifier", "--train", str(PCA / "embryo_cells_sim1.csv"),
                      str(PCA / "embryo_cells_sim2.csv"), "--test", str(PCA / "embryo_cells_sim3.csv"),
                      "--plot-dir", str(tmp / "pca"))
            _card(next((tmp / "pca").glob("pca_*.png")), args.out / "pca.png")
        if "train" in args.pictures:
            _train(tmp, args.out / "train.png")
        if "batch" in args.pictures:
            _batch(tmp, args.out / "batch.png")


if __name__ == "__main__":
    main()

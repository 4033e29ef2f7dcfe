"""The home page's pictures that show lineages (assets/home/lineage.png and pca.png), in devocore.style's colours.

    python tools/home_pictures.py [--out assets/home]

lineage.png: the Lineage view's curves on its bundled example movie (predicted thin and dark over annotated broad
and pale); pca.png: the PCA explorer's projection of a bundled example embryo, coloured by founder lineage.
Both are drawn by the same figure functions as `eval lineage --plot` and `eval lineage-classifier --plot-dir`,
then shrunk to the cards' 480 x 270 px.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "home")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _devocore("eval", "lineage", "--video", str(LINEAGE / "embryo_timelapse.mov"), "--labels",
                  str(LINEAGE / "embryo_timelapse_populations.csv"), "--plot", str(tmp / "lineage.png"))
        _card(tmp / "lineage.png", args.out / "lineage.png")
        _devocore("eval", "lineage-classifier", "--train", str(PCA / "embryo_cells_sim1.csv"),
                  str(PCA / "embryo_cells_sim2.csv"), "--test", str(PCA / "embryo_cells_sim3.csv"),
                  "--plot-dir", str(tmp / "pca"))
        _card(next((tmp / "pca").glob("pca_*.png")), args.out / "pca.png")


if __name__ == "__main__":
    main()

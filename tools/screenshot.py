"""Screenshots of the running app in Debian's Chromium, for the README.

    python tools/screenshot.py [--out docs/img] [PAGE ...]     (PAGE: home, segmentation, ...; default: segmentation)
The segmentation page's screenshot is the README's docs/img/app.png.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import chromium, streamlit_server, wait_until_idle  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pages", nargs="*", default=["segmentation"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    with streamlit_server() as (url, _), chromium() as browser:
        for stem in args.pages:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url if stem == "home" else f"{url}/{stem}", timeout=90_000)
            wait_until_idle(page, 180_000)
            page.wait_for_timeout(1500)
            name = "app.png" if stem == "segmentation" else f"app_{stem}.png"
            page.screenshot(path=str(args.out / name))
            print(args.out / name)


if __name__ == "__main__":
    main()

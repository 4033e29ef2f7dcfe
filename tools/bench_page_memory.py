"""Peak memory of the Streamlit server while several browser sessions upload large files at once (issue #31).

Starts `streamlit run app.py` on a free port, opens --sessions Playwright contexts in Debian Chromium on one
page, uploads the same input into each (the inputs of `python -m devocore bench memory`, at --scale of the
largest the limits allow), and samples the resident memory of the server and its children with psutil every
0.25 s until every session's script has finished (or --timeout). The server is stopped at once if its memory
passes --stop-above-mb (the figure is then a lower bound). Prints one JSON object as the last line with --json.

  python tools/bench_page_memory.py --page segmentation --input image --scale 1.0 --sessions 3 --json
  (add --workdir DIR --reuse-inputs to keep the inputs `python -m devocore bench memory --workdir DIR` built)
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.rss import PeakSampler  # noqa: E402  (after the path is set)

INPUT_FOR_PAGE = {"segmentation": ("image", "stack", "video"), "tracking": ("video",), "lineage": ("video", "image")}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="segmentation", choices=sorted(INPUT_FOR_PAGE))
    parser.add_argument("--input", default=None, choices=["image", "stack", "video"],
                        help="which bench-memory input to upload (default: the page's first)")
    parser.add_argument("--scale", type=float, default=1.0, help="input size as a share of the largest allowed")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the sessions")
    parser.add_argument("--stop-above-mb", type=float, default=12000.0)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--reuse-inputs", action="store_true",
                        help="keep inputs already in --workdir (built by an earlier run at the same --scale)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    kind = args.input or INPUT_FOR_PAGE[args.page][0]
    if kind not in INPUT_FOR_PAGE[args.page]:
        parser.error(f"the {args.page} page does not take a {kind}")

    from devocore.commands.bench_memory import make_inputs
    from devocore.config import LIMITS
    from tests.browser import chromium, streamlit_server

    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="devoscope-bench-page-"))
    root.mkdir(parents=True, exist_ok=True)
    info = make_inputs(root, args.scale, 30, LIMITS, reuse=args.reuse_inputs)[kind]
    path = Path(info["path"])
    print(f"input: {kind} {'x'.join(map(str, info['shape']))}, file {info['file_mb']} MB", file=sys.stderr)
    result = {"page": args.page, "input": {k: v for k, v in info.items() if k != "path"}, "kind": kind,
              "scale": args.scale, "sessions": args.sessions}
    start = time.monotonic()
    with streamlit_server() as (url, proc):
        sampler = PeakSampler(proc.pid, cap_mb=args.stop_above_mb, on_cap=proc.kill)
        result["idle_mb"] = round(sampler.start_mb, 1)
        sampler.start()
        states = []
        try:
            with chromium() as browser:
                pages = []
                for _ in range(args.sessions):
                    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
                    page.goto(f"{url}/{args.page}", timeout=120_000)
                    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                                           timeout=120_000)
                    if args.page == "segmentation":  # the source radio: Upload
                        page.get_by_text("Upload", exact=True).first.click()
                        page.wait_for_timeout(1500)
                    pages.append(page)
                for page in pages:  # all uploads in flight together
                    page.locator('input[type="file"]').first.set_input_files(str(path))
                deadline = start + args.timeout
                for page in pages:
                    state = "finished"
                    try:
                        page.wait_for_timeout(1500)
                        left = max(1000, int((deadline - time.monotonic()) * 1000))
                        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                                               timeout=left)
                        errors = page.locator('[data-testid="stAlertContentError"]')
                        if errors.count():
                            state = "error: " + errors.first.inner_text()[:200]
                        elif page.locator('[data-testid="stException"]').count():
                            state = "traceback"
                    except Exception as exc:  # a timeout, or the server stopped at the cap
                        state = f"not finished ({type(exc).__name__})"
                    states.append(state)
        finally:
            sampler.stop()
    result.update(peak_rss_mb=round(sampler.peak_mb, 1), stopped_over_cap=sampler.capped,
                  seconds=round(time.monotonic() - start, 1), sessions_state=states)
    return result


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome) if "--json" in sys.argv else json.dumps(outcome, indent=1))

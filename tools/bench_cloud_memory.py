"""Peak memory of a Devoscope server under the Community Cloud entrypoint, with several browser sessions at once.

Starts `streamlit run cloud/streamlit_app.py` (the cloud deploy profile) on a free localhost port, then drives
``--sessions`` concurrent Playwright browser contexts (Debian Chromium) over every page: each page's bundled
example, and its main button where it has one (Batch on the bundled examples with the nucleus task, LSTM
training, the PCA classifier, segmentation training with ``--train-epochs`` epochs). Sessions start at
different pages, so different models and jobs overlap. The resident memory (RSS) of the server and all its
child processes is sampled with psutil every ``--interval`` seconds; the peak is the figure to compare with
Community Cloud's smallest container (690 MB) and the 1,300 MB goal.

    nice -n 19 python tools/bench_cloud_memory.py --json

Prints one line per page visit, then (with ``--json``) one JSON object as the last line: the peak, the highest
peaks with what every session was doing (``top_peaks``), the failed visits. ``--pages`` visits only some pages,
``--trace FILE`` writes every sample. A benchmark, not a test: on 2 shared CPU cores three sessions take
about 10 minutes (546 s on 2026-12-05).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.rss import PeakSampler, tree_rss_mb  # noqa: E402  (after the path is set)

ENTRYPOINT = "cloud/streamlit_app.py"
GOAL_MB = 1300


# ----------------------------------------------------------------------------- what each session does
# stem -> (query string, async action on the page, regex of the result that shows the page worked)
async def _click(page, name: str) -> None:
    await page.get_by_role("button", name=name).first.click()


async def _train_action(page, epochs: int) -> None:
    box = page.get_by_label("Most epochs", exact=True)
    await box.fill(str(epochs))
    await box.press("Enter")
    await _wait_idle(page)
    await _click(page, "Start training")


def _pages(train_epochs: int) -> list[tuple[str, str, object, str]]:
    return [
        ("segmentation", "", None, r"\d+ (nuclei|cells)"),
        ("lineage", "", None, r"Total cells"),
        ("gan", "", None, r"Interpolation between two seeds"),
        ("tracking", "", None, r"Behaviour over time"),
        ("pca", "", lambda p: _click(p, "Train and test"), r"Mean accuracy on test embryos"),
        ("forecast", "", lambda p: _click(p, "Train and forecast"), r"Test part: error per method"),
        ("train", "", lambda p: _train_action(p, train_epochs), r"Done: best epoch"),
        ("batch", "?batch_task=nucleus", lambda p: _click(p, "Start"), r"\d+ files: \d+ ok"),
        ("simulator", "", None, r"Embryo"),
    ]


async def _wait_idle(page, timeout_ms: int = 600_000) -> None:
    await page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    await page.wait_for_timeout(800)
    await page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)


async def _session(browser, url: str, index: int, plan, sampler: PeakSampler, timeout_ms: int,
                   log: list[dict], doing: dict[int, str]) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    start = (index * 3) % len(plan)
    for stem, query, action, result in plan[start:] + plan[:start]:
        t0 = time.time()
        doing[index + 1] = stem  # the sampler's label says what every session is doing
        sampler.label = ", ".join(f"{number}: {page}" for number, page in sorted(doing.items()))
        row = {"session": index + 1, "page": stem, "ok": False}
        try:
            await page.goto(f"{url}/{stem}{query}", timeout=120_000)
            await _wait_idle(page, timeout_ms)
            if action is not None:
                await action(page)
            await page.locator('[data-testid="stMain"]').get_by_text(re.compile(result)).first.wait_for(
                timeout=timeout_ms)
            await _wait_idle(page, timeout_ms)
            row["ok"] = await page.locator('[data-testid="stException"]').count() == 0
        except Exception as exc:  # a benchmark reports what failed and goes on
            row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        row["seconds"] = round(time.time() - t0, 1)
        row["rss_mb"] = round(tree_rss_mb(sampler.pid))
        log.append(row)
        print(f"session {row['session']} {stem:<13} {'ok' if row['ok'] else 'FAILED'} {row['seconds']:7.1f} s  "
              f"server tree {row['rss_mb']} MB  {row.get('error', '')}", flush=True)
    doing[index + 1] = "done"
    await context.close()


async def _drive(url: str, sessions: int, plan, sampler: PeakSampler, timeout_ms: int) -> list[dict]:
    from playwright.async_api import async_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    log: list[dict] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        warm = await browser.new_page()  # a fresh server's first visit goes to the home page (see test_load)
        await warm.goto(url, timeout=120_000)
        await _wait_idle(warm, timeout_ms)
        await warm.close()
        doing: dict[int, str] = {}
        await asyncio.gather(*[_session(browser, url, i, plan, sampler, timeout_ms, log, doing)
                               for i in range(sessions)])
        await browser.close()
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3, help="concurrent browser sessions (default 3)")
    parser.add_argument("--train-epochs", type=int, default=2, help="epochs for the Train page's run (default 2)")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between RSS samples")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one page may take (default 900)")
    parser.add_argument("--pages", default="", help="comma-separated page stems to visit (default: every page)")
    parser.add_argument("--trace", type=Path, help="write every sample (seconds, MB, what each session did) to this CSV")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)

    from tests.browser import streamlit_server

    plan = _pages(args.train_epochs)
    if args.pages:
        wanted = [stem.strip() for stem in args.pages.split(",") if stem.strip()]
        unknown = sorted(set(wanted) - {row[0] for row in plan})
        if unknown:
            parser.error(f"unknown page(s) {', '.join(unknown)}; choose from {', '.join(row[0] for row in plan)}")
        plan = [row for row in plan if row[0] in wanted]
    started = time.time()
    with streamlit_server(script=ENTRYPOINT, timeout=180) as (url, proc):
        sampler = PeakSampler(proc.pid, args.interval)
        sampler.start()
        log = asyncio.run(_drive(url, args.sessions, plan, sampler, int(args.timeout * 1000)))
        sampler.label = "end"
        end_mb = tree_rss_mb(proc.pid)
        peak = sampler.stop()
    if args.trace:
        import csv

        with open(args.trace, "w", newline="") as handle:
            csv.writer(handle).writerows([("seconds", "rss_mb", "sessions")] +
                                         [(round(t, 2), round(mb), label) for t, mb, label in sampler.trace])
    result = {
        "peak_rss_mb": round(peak), "goal_mb": GOAL_MB, "within_goal": peak <= GOAL_MB,
        "start_rss_mb": round(sampler.start_mb), "end_rss_mb": round(end_mb), "sessions": args.sessions,
        "peak_during": sampler.peak_label,
        # the highest peaks, each with what every session was doing (session: page)
        "top_peaks": {label: round(mb) for label, mb in sorted(sampler.peaks.items(), key=lambda kv: -kv[1])[:8]}, "peak_at_s": round(sampler.peak_at, 1), "samples": sampler.samples,
        "pages_ok": sum(r["ok"] for r in log), "pages": len(log), "failed": [f"{r['session']}:{r['page']}"
                                                                             for r in log if not r["ok"]],
        "entrypoint": ENTRYPOINT, "seconds": round(time.time() - started),
    }
    print(f"peak RSS of the server tree: {result['peak_rss_mb']} MB (goal {GOAL_MB} MB) with {args.sessions} "
          f"sessions; {result['pages_ok']}/{result['pages']} page visits worked", flush=True)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

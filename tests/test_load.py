"""Load: 8 concurrent browser sessions run the segmentation example on one server.

All 8 must show a nucleus count with no error or traceback, the model must be loaded
once (``devocore.ui_cache.model`` logs one line per real load to the server's log), and
the server's resident memory (psutil, server and children, sampled every 0.25 s) must
stay under RSS_BOUND_MB. The measured figures go to test-artifacts/load.json.

The server gets one visit to its home page first: 8 simultaneous FIRST visits of a fresh
server to a page URL can hit "cannot import name 'common' from 'pages'" in one session
(pages.common reroutes with st.rerun() while it is being imported; reported to the lead).
"""
from __future__ import annotations

import json
import re
import time

import pytest

from devocore.ui_cache import LOAD_LOG_PREFIX
from tests import browser_models
from tests.browser import ARTIFACTS, browser_available, chromium, screenshot, streamlit_server, wait_until_idle
from tools.rss import PeakSampler

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]

SESSIONS = 8
RSS_BOUND_MB = 2000  # stated bound (MB) for the server process tree with 8 sessions on CPU; measured ~1.0 GB
TIMEOUT = 300_000


def test_eight_sessions_share_one_model_and_bounded_memory(tmp_path):
    pytest.importorskip("psutil")
    ARTIFACTS.mkdir(exist_ok=True)
    models = browser_models.save_tiny_models(tmp_path / "models")
    with streamlit_server(env={"DEVOCORE_MODEL_DIR": str(models)}) as (url, proc), chromium() as browser:
        log_path = ARTIFACTS / f"streamlit-{url.rsplit(':', 1)[1]}.log"
        monitor = PeakSampler(proc.pid)
        monitor.start()
        warm = browser.new_page()  # the first visit of a fresh server goes to the home page (see below)
        warm.goto(url, timeout=60_000)
        wait_until_idle(warm, TIMEOUT)
        warm.close()
        started = time.time()
        contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(SESSIONS)]
        pages, js_errors = [], []
        for context in contexts:  # all sessions start before any is waited on: they run concurrently
            page = context.new_page()
            page.on("pageerror", lambda exc: js_errors.append(str(exc)))
            page.goto(f"{url}/segmentation?seg_model={browser_models.SEGMENTATION}", timeout=60_000,
                      wait_until="commit")
            pages.append(page)
        counts = []
        for i, page in enumerate(pages):
            wait_until_idle(page, TIMEOUT)
            main = page.locator('[data-testid="stMain"]')
            done = main.get_by_text(re.compile(r"\d+ nuclei")).or_(page.locator('[data-testid="stException"]'))
            done.first.wait_for(timeout=TIMEOUT)
            assert page.locator('[data-testid="stException"]').count() == 0, f"session {i}: traceback"
            counts.append(re.search(r"(\d+) nuclei", main.inner_text()).group(1))
            if i == 0:
                screenshot(page, "load-session-1")
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0, f"session {i}: error"
        seconds = time.time() - started
        peak = monitor.stop()
        for context in contexts:
            context.close()
        loads = [line for line in log_path.read_text().splitlines()
                 if line.startswith(LOAD_LOG_PREFIX) and browser_models.SEGMENTATION in line]
    figures = {"sessions": SESSIONS, "seconds_all_done": round(seconds, 1), "model_loads": len(loads),
               "rss_start_mb": round(monitor.start_mb), "rss_peak_mb": round(peak), "rss_bound_mb": RSS_BOUND_MB,
               "nucleus_counts": counts}
    (ARTIFACTS / "load.json").write_text(json.dumps(figures, indent=2))
    assert not js_errors
    assert len(set(counts)) == 1, f"the sessions disagree: {counts}"
    assert len(loads) == 1, f"model loaded {len(loads)} times: {loads}"
    assert peak < RSS_BOUND_MB, figures

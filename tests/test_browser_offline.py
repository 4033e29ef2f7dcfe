"""Nothing leaves the machine: the home page and every page opened through the navigation request only the
local server (no icon fonts, favicons or scripts from the internet), in a real Chromium. On the same walk, with
the shipped models, every page renders without a traceback or a script error in the browser.

Headless Chromium does not always fetch a favicon, so the page's own links (icons, images, stylesheets,
scripts, frames) are checked as well as the requests made.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from pages.common import available_views
from tests.browser import ARTIFACTS, browser_available, chromium, screenshot, streamlit_server, wait_until_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LINKED = """() => Array.from(document.querySelectorAll('link[href], img[src], script[src], iframe[src], source[src]'))
                  .map(e => e.href || e.src)"""


def external(url: str) -> bool:
    """True for a URL that would leave the local server (data: and blob: URLs stay in the page)."""
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "javascript", ""):
        return False
    return parsed.hostname not in LOCAL_HOSTS


def test_external_urls_are_recognised():
    assert external("https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/home/default/24px.svg")
    assert external("https://data.streamlit.io/metrics.json")
    assert not external("http://127.0.0.1:8501/static/media/MaterialSymbols-Rounded.woff2")
    assert not external("http://localhost:8501/media/icon.png")
    assert not external("data:image/svg+xml,<svg></svg>") and not external("blob:http://127.0.0.1:8501/x")


def test_every_page_renders_and_requests_nothing_outside_the_local_server():
    ARTIFACTS.mkdir(exist_ok=True)
    titles = ["Home"] + [title for _, title, _ in available_views()]
    outside: dict[str, set[str]] = {}
    tracebacks, script_errors = [], []
    with streamlit_server() as (url, _), chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        where = ["Home"]
        page.on("request", lambda request: external(request.url)
                and outside.setdefault(where[0], set()).add(request.url))
        page.on("pageerror", lambda exc: script_errors.append(f"{where[0]}: {exc}"))
        page.goto(url, timeout=60_000)
        wait_until_idle(page)
        page.get_by_role("heading", name="Devoscope").wait_for(timeout=30_000)
        for title in titles:
            where[0] = title
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
            wait_until_idle(page)
            page.wait_for_timeout(300)  # icons and images load after the script has run
            linked = [u for u in page.evaluate(LINKED) if external(u)]
            if linked:
                outside.setdefault(title, set()).update(linked)
            if page.locator('[data-testid="stException"]').count():
                tracebacks.append(title)
                screenshot(page, f"traceback-{title}")
        screenshot(page, "offline-last-page", full_page=False)
        context.close()
    assert not outside, f"requests or links leaving the local server: {outside}"
    assert not tracebacks, f"pages showing a traceback: {tracebacks}"
    assert not script_errors, script_errors

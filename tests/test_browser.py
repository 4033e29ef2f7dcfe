"""A real browser: a fresh server answers its health check, and a first visit to a page URL goes through the router.

That every page renders without a traceback or a script error, with the shipped models, is checked on the walk
through all pages in tests/test_browser_offline.py.
"""
import urllib.request

import pytest

from tests.browser import ARTIFACTS, browser_available, streamlit_server, wait_until_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]


def test_a_fresh_server_is_healthy_and_its_first_visit_to_a_page_url_goes_through_the_router(browser):
    """A fresh server whose first visitor opens /batch still shows app.py's navigation and sidebar."""
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server() as (url, proc):
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            assert response.read().strip() == b"ok"
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{url}/batch", timeout=60_000)
        wait_until_idle(page)
        page.get_by_role("heading", name="Batch processing").wait_for(timeout=30_000)
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        context.close()
    assert "Device:" in sidebar and "Home" in sidebar and "common" not in sidebar

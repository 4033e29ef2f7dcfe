"""A real browser: the app starts, answers its health check and every page renders without an exception.

Screenshots land in test-artifacts/ (kept by CI as artifacts).
"""
import urllib.request

import pytest

from pages.common import available_views
from tests.browser import ARTIFACTS, browser_available, chromium, streamlit_server, wait_until_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]


@pytest.fixture(scope="module")
def server():
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server() as (url, proc):
        yield url


def test_health_endpoint(server):
    with urllib.request.urlopen(f"{server}/_stcore/health", timeout=5) as response:
        assert response.read().strip() == b"ok"


@pytest.mark.parametrize("stem", ["home"] + [v[0] for v in available_views()])
def test_page_renders_in_chromium(server, stem):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server if stem == "home" else f"{server}/{stem}", timeout=60_000)
        wait_until_idle(page)
        if stem == "home":
            page.get_by_role("heading", name="Devoscope").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / f"page-{stem}.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not errors


def test_first_visit_to_a_page_url_goes_through_the_router():
    """A fresh server whose first visitor opens /batch still shows app.py's navigation and sidebar."""
    with streamlit_server() as (url, proc), chromium() as browser:
        page = browser.new_page()
        page.goto(f"{url}/batch", timeout=60_000)
        wait_until_idle(page)
        page.get_by_role("heading", name="Batch processing").wait_for(timeout=30_000)
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Device:" in sidebar and "Home" in sidebar and "common" not in sidebar

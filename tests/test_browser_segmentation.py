"""The segmentation page in a real Chromium picks the model that fits the input, without the user touching
the model menu: the nucleus example gets the nucleus model and nuclei; a membrane example then switches
to the membrane model. Uses the shipped models (skipped where they are missing)."""
from __future__ import annotations

import re

import pytest

from devocore import registry
from tests.browser import ARTIFACTS, browser_available, chromium, screenshot, streamlit_server, wait_until_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]

TIMEOUT = 120_000


def _shipped_segmenters() -> set[str]:
    return {m.name for m in registry.list_models("segmentation") if m.source == "shipped"}


def _choose(page, menu: str, option: str) -> None:
    page.get_by_role("combobox", name=menu).click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_until_idle(page, TIMEOUT)


def _shown(page, menu: str) -> str:
    """The option a selectbox shows."""
    return page.get_by_role("combobox", name=menu).input_value()


def _count(page) -> tuple[int, str]:
    heading = page.locator('[data-testid="stMain"] h3').filter(has_text=re.compile(r"^\d+ (nuclei|cells)")).first
    heading.wait_for(timeout=TIMEOUT)
    number, what = heading.inner_text().split()[:2]
    return int(number), what


@pytest.mark.skipif(not {"nucleus", "membrane"} <= _shipped_segmenters(), reason="shipped segmentation models missing")
def test_the_example_picks_the_fitting_model_without_touching_the_menu():
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server() as (url, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/segmentation", timeout=60_000)
        wait_until_idle(page, TIMEOUT)
        _choose(page, "Example", "nuclei.png")
        assert _shown(page, "Model") == "nucleus"
        count, what = _count(page)
        assert what == "nuclei" and count >= 5
        assert page.locator('[data-testid="stAlertContentWarning"]').count() == 0
        screenshot(page, "segmentation-nuclei-example")
        _choose(page, "Example", "membrane.png")
        assert _shown(page, "Model") == "membrane"
        count, what = _count(page)
        assert what == "cells" and count >= 5
        screenshot(page, "segmentation-membrane-example")

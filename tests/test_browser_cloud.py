"""Demo links under the Community Cloud entrypoint: a page URL with query parameters reproduces the view.

One server runs `streamlit run cloud/streamlit_app.py` (the deploy profile on); each test opens a
shared link in a fresh browser context and reads the widgets back from the page.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests import browser_models
from tests.browser import ARTIFACTS, browser_available, chromium, streamlit_server, wait_until_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]

TIMEOUT = 180_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    models = browser_models.save_tiny_models(tmp_path_factory.mktemp("cloud-models"))
    with streamlit_server(script="cloud/streamlit_app.py", env={"DEVOCORE_MODEL_DIR": str(models)}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def open_link(server, browser):
    contexts = []

    def visit(path: str):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.goto(server + path, timeout=60_000)
        wait_until_idle(page, TIMEOUT)
        assert page.locator('[data-testid="stException"]').count() == 0, f"{path}: a traceback is shown"
        return page

    yield visit
    for context in contexts:
        context.close()


def number(page, label: str) -> str:
    return page.get_by_label(label, exact=True).and_(page.locator("input")).first.input_value()


def slider(page, label: str) -> str:
    return page.locator(f'[data-testid="stSlider"] input[type="range"][aria-label="{label}"]').first.input_value()


def choice(page, label: str) -> str:
    return page.locator(f'[data-testid="stSelectbox"] input[role="combobox"][aria-label="{label}"]').first.input_value()


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def test_forecast_link_reproduces_horizon_and_folds(open_link):
    page = open_link("/forecast?fc_h=12&fc_folds=2&fc_target=speed")
    assert number(page, "Horizon H (steps ahead)") == "12"
    assert number(page, "Test folds (rolling origins; 1 = one split)") == "2"
    assert choice(page, "Target (the column to forecast)") == "speed"
    assert {"fc_h": "12", "fc_folds": "2", "fc_target": "speed"}.items() <= query(page).items()


def test_simulator_link_reproduces_seed_frames_and_cells(open_link):
    page = open_link("/simulator?sim_seed=7&sim_frames=50&sim_cells=30")
    assert number(page, "Seed") == "7"
    assert slider(page, "Frames (75 s apart)") == "50" and slider(page, "Most cells") == "30"
    assert {"sim_seed": "7", "sim_frames": "50", "sim_cells": "30"}.items() <= query(page).items()


def test_segmentation_link_reproduces_model_and_threshold(open_link):
    page = open_link(f"/segmentation?seg_model={browser_models.SEGMENTATION}&seg_threshold=0.35")
    assert choice(page, "Model").startswith(browser_models.SEGMENTATION)
    assert float(slider(page, "Threshold")) == pytest.approx(0.35)
    assert query(page)["seg_threshold"] == "0.35"


def test_batch_link_reproduces_the_task_and_offers_at_most_two_workers(open_link):
    page = open_link("/batch?batch_task=nucleus")
    assert choice(page, "Task").startswith("Nucleus segmentation")
    workers = page.locator('[data-testid="stSlider"] input[type="range"][aria-label="Worker processes"]')
    assert workers.count() == 0 or int(workers.first.get_attribute("max")) <= 2


def test_home_cards_open_their_pages_under_the_cloud_entrypoint(open_link):
    page = open_link("/")
    assert page.locator('[data-testid="stPageLink"]').count() >= 8
    page.locator('[data-testid="stPageLink"]').filter(has_text="Open LSTM forecast").first.click()
    wait_until_idle(page, TIMEOUT)
    page.get_by_label("Horizon H (steps ahead)", exact=True).first.wait_for(timeout=TIMEOUT)  # the page is drawn
    assert urlparse(page.url).path == "/forecast"

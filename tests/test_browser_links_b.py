"""A shared link restores the whole view on Segmentation, Batch, Train and Simulator, in a real Chromium.

For each page: open it with non-default values in the URL, change one more value by clicking, take the
address the page now shows, open that address in a NEW browser context (no cookies, no session) and
compare every widget value and heading shown.
"""
from __future__ import annotations

import time
from urllib.parse import urlencode

import numpy as np
import pytest
from PIL import Image

from tests import browser_models
from tests.browser import ARTIFACTS, browser_available, screenshot, streamlit_server, wait_until_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]

TIMEOUT = 180_000

SHOWN = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const label = (el) => el.getAttribute('aria-label') || (el.closest('[data-testid]') || el).innerText.slice(0, 40);
  return {
    inputs: [...main.querySelectorAll('input')].filter(i => i.type !== 'file').map(
      i => [label(i), (i.type === 'radio' || i.type === 'checkbox') ? String(i.checked) : i.value]),
    headings: [...main.querySelectorAll('h1, h2, h3')].map(h => h.innerText),
  };
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    models = browser_models.save_tiny_models(tmp_path_factory.mktemp("links-models"))
    data = tmp_path_factory.mktemp("links-data")
    (data / "exp").mkdir()
    for i in range(2):
        Image.fromarray(np.full((16, 16), i, np.uint8)).save(data / "exp" / f"a{i}.png")
    with streamlit_server(env={"DEVOCORE_MODEL_DIR": str(models), "DEVOCORE_DATA_DIR": str(data)}) as (url, _):
        yield url


def _open(browser, address: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(address, timeout=60_000)
    wait_until_idle(page, TIMEOUT)
    return context, page


def _slider(page, name: str):
    return page.locator(f'[data-testid="stMain"] input[type="range"][aria-label="{name}"]').first


def _step(page, name: str, key: str = "ArrowRight") -> None:
    _slider(page, name).focus()
    page.keyboard.press(key)
    wait_until_idle(page, TIMEOUT)


def _choose(page, menu: str, option: str) -> None:
    page.get_by_role("combobox", name=menu).click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_until_idle(page, TIMEOUT)


def _shown(page, wanted: dict | None = None, timeout_s: float = 30) -> dict:
    """What the page shows once two reads 0.5 s apart agree (or it equals ``wanted``): on a busy machine the
    browser may still be drawing its last widgets after the checked ones have appeared."""
    now = page.evaluate(SHOWN)
    deadline = time.monotonic() + timeout_s
    while now != wanted and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        previous, now = now, page.evaluate(SHOWN)
        if wanted is None and now == previous:
            break
    return now


def _shared(browser, server, path: str, params: dict, click, check, shot: str) -> None:
    """Open path?params, ``click``, then open the resulting URL in a new context and compare all shown."""
    first_context, first = _open(browser, f"{server}/{path}?{urlencode(params)}")
    click(first)
    address = first.url
    check(first)  # waits for the checked widgets, so the page is drawn before it is read
    before = _shown(first)
    first_context.close()
    second_context, second = _open(browser, address)
    try:
        check(second)
        after = _shown(second, wanted=before)
        screenshot(second, f"link-{shot}")
        assert after == before, f"{path}: the shared link shows another view"
    finally:
        second_context.close()


def test_segmentation_link_restores_example_model_slice_threshold_and_pixel_size(server, browser):
    params = {"seg_source": "Example", "seg_example": "Simulated nucleus stack (4 slices)",
              "seg_model": browser_models.SEGMENTATION, "seg_frame": "2", "seg_threshold": "0.3", "seg_px": "0.25"}

    def check(page):
        assert page.get_by_role("combobox", name="Example").input_value() == "Simulated nucleus stack (4 slices)"
        assert page.get_by_role("combobox", name="Model").input_value() == browser_models.SEGMENTATION
        assert _slider(page, "Slice").input_value() == "3"
        assert _slider(page, "Threshold").input_value() == "0.3"
        assert page.get_by_label("Pixel size (µm, 0 = unknown)").input_value() == "0.250"
        assert page.locator('[data-testid="stMain"] h3').filter(has_text="in slice 3 of 4").count() == 1

    _shared(browser, server, "segmentation", params, lambda page: _step(page, "Slice"), check, "segmentation")


def test_batch_link_restores_source_folder_task_and_workers(server, browser):
    params = {"batch_source": "A folder on this server", "batch_dir": "exp", "batch_task": "inventory",
              "batch_workers": "2"}

    def check(page):
        assert page.locator(".st-key-batch_dir input").input_value() == "exp"
        assert page.get_by_role("combobox", name="Task").input_value().startswith("Worm tracking")
        assert _slider(page, "Worker processes").input_value() == "2"
        assert page.get_by_text("0 file(s) to process; 2 of another kind will be skipped").count() == 1

    _shared(browser, server, "batch", params,
            lambda page: _choose(page, "Task", "Worm tracking (skeletons, head-tail distance, curvature, speed)"),
            check, "batch")


def test_train_link_restores_the_settings(server, browser):
    params = {"train_task": "membrane", "train_start": "(from scratch)", "train_size": "128", "train_epochs": "7",
              "train_steps": "9", "train_batch": "4", "train_lr": "0.0002", "train_schedule": "onecycle",
              "train_fg_weight": "2.5", "train_val_fraction": "0.3"}

    def check(page):
        assert page.get_by_role("combobox", name="Start from").input_value() == "(from scratch)"
        assert page.get_by_role("combobox", name="Network input size").input_value() == "128"
        assert page.get_by_role("combobox", name="Schedule").input_value() == "onecycle"
        assert page.get_by_label("Most epochs").input_value() == "7"
        assert page.get_by_label("Early stopping patience (epochs)").input_value() == "4"
        assert _slider(page, "Foreground weight (BCE)").input_value() == "2.5"

    def click(page):
        box = page.get_by_label("Early stopping patience (epochs)")
        box.fill("4")
        box.press("Enter")
        wait_until_idle(page, TIMEOUT)

    _shared(browser, server, "train", params, click, check, "train")


def test_simulator_link_restores_embryo_frame_and_slice_height(server, browser):
    params = {"sim_kind": "Embryo", "sim_seed": "5", "sim_frames": "30", "sim_size": "128", "sim_t": "12",
              "sim_z": "-3.5", "sim_reporter": "MS"}

    def check(page):
        assert page.get_by_label("Seed").input_value() == "5"
        assert page.get_by_role("combobox", name="Red reporter in").input_value() == "MS"
        assert _slider(page, "Frame").input_value() == "13"
        assert _slider(page, "Slice height (µm from the middle)").input_value() == "-3.5"

    _shared(browser, server, "simulator", params, lambda page: _step(page, "Frame"), check, "simulator")


def test_simulator_link_restores_the_worm_frame(server, browser):
    params = {"sim_kind": "Worms", "simw_seed": "2", "simw_worms": "3", "simw_frames": "10", "simw_t": "4"}

    def check(page):
        assert _slider(page, "Frame").input_value() == "5"
        assert _slider(page, "Worms").input_value() == "3"

    _shared(browser, server, "simulator", params, lambda page: _step(page, "Frame"), check, "simulator-worms")

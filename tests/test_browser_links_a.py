"""A shared link restores the whole view on the Lineage, GAN, Tracking, PCA and Forecast pages (issue 27, point 12).

For each page a link with non-default choices is opened in one browser context; the URL the page then shows
(what a user would copy) is opened in a NEW context, and every widget value (radios, selects, multiselects,
sliders, number inputs) and a page-specific caption must be the same in both, and the ones asked for.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pytest

from tests import browser_models
from tests.browser import browser_available, screenshot, wait_until_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]

TIMEOUT = 180_000

# page -> (query, texts the view must show, widget values it must hold as (kind, value))
LINKS = {
    "lineage": ({"lin_model": browser_models.LINEAGE, "lin_src": "timelapse.mp4", "lin_method": "stage",
                 "lin_smooth": "3", "lin_frame": "5"},
                [r"frame 5 of \d+"], [("select", "stage"), ("radio", "timelapse.mp4"), ("slider", "5")]),
    "gan": ({"model": browser_models.GAN, "n": "3", "seed": "7", "seed_b": "11", "steps": "6"},
            [r"sample 3 · seed 7", r"seed 7 \S{1,2} seed 11"], [("number", "7"), ("number", "11"), ("slider", "6")]),
    "tracking": ({"trk_frame": "7", "trk_worms": "2"}, [r"Frame 7 \(0\.24 s\)"], [("slider", "7"), ("tag", "2")]),
    "pca": ({"pca_source": "Toy embryos (lineage territories)", "pca_scaling": "robust", "pca_colour": "embryo",
             "pca_dims": "2", "pca_embryo": "toy embryo 2"},
            [r"toy embryo 2, time"], [("radio", "Toy embryos (lineage territories)"), ("select", "robust"),
                                      ("select", "embryo"), ("select", "toy embryo 2")]),
    "forecast": ({"fc_src": "Simulated body curvature (100 segments)", "fc_h": "12", "fc_lb": "30", "fc_folds": "2",
                  "fc_hid": "16"},
                 [], [("radio", "Simulated body curvature (100 segments)"), ("number", "12"), ("number", "30"),
                      ("number", "2"), ("number", "16")]),
}


def view(page) -> dict[str, list[str]]:
    """Every widget value the page shows, by kind, in page order (main area and sidebar)."""
    def values(selector: str, typed: bool = False) -> list[str]:
        items = page.locator(selector)
        return [(items.nth(i).input_value() if typed else items.nth(i).inner_text()).strip()
                for i in range(items.count())]

    tags = [t for box in values('[data-testid="stMultiSelectTagsContainer"]') for t in box.split("\n") if t]
    return {"radio": values('[data-testid="stRadio"] label:has(input:checked)'),
            "select": values('[data-testid="stSelectbox"] input', typed=True),
            "tag": tags,
            "slider": values('[data-testid="stSlider"] input[type="range"]', typed=True),
            "number": values('[data-testid="stNumberInput"] input', typed=True)}


def view_when(page, done, timeout_s: float = 60) -> dict[str, list[str]]:
    """view(page) once ``done(previous, now)`` holds for two reads 1 s apart, or the last read at the timeout.

    On a busy machine the browser may still be drawing the last widgets (or the page rerunning) for a moment
    after the script first reports that it has finished."""
    now = view(page)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        previous, now = now, view(page)
        if done(previous, now):
            break
    return now


def open_view(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url, timeout=60_000)
    wait_until_idle(page, TIMEOUT)
    # a fresh server's first visit to a page URL reruns through app.py: wait for the page itself
    page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=TIMEOUT)
    wait_until_idle(page, TIMEOUT)
    return context, page


@pytest.mark.parametrize("stem", list(LINKS))
def test_a_shared_link_restores_the_view_in_a_new_browser(server, browser, stem):
    query, texts, wanted = LINKS[stem]
    first, page = open_view(browser, f"{server}/{stem}?{urlencode(query)}")
    try:
        shown = view_when(page, lambda previous, now: now == previous
                          and all(value in now[kind] for kind, value in wanted))
        link = page.url  # what the user copies after the page has written its state
        main = page.locator('[data-testid="stMain"]').inner_text()
        screenshot(page, f"link-{stem}-first")
        if stem == "gan":  # samples are drawn large enough to see
            sample = page.locator('[data-testid="stImage"]').filter(has_text="sample 1 · seed 7").locator("img")
            assert sample.first.bounding_box()["width"] >= 192
    finally:
        first.close()
    assert not re.search(r"Traceback|Error:", main), main[:500]
    for kind, value in wanted:
        assert value in shown[kind], (kind, value, shown)
    for pattern in texts:
        assert re.search(pattern, main), (pattern, main[:2000])
    for key, value in query.items():  # the page kept the asked-for choices in its URL
        assert f"{key}=" in link, (key, link)

    second, page = open_view(browser, link)
    try:
        again = view_when(page, lambda previous, now: now == shown)
        main_again = page.locator('[data-testid="stMain"]').inner_text()
        screenshot(page, f"link-{stem}-second")
    finally:
        second.close()
    assert again == shown
    for pattern in texts:
        assert re.search(pattern, main_again), pattern

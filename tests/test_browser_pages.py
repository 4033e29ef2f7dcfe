"""Every page in a real Chromium: its example gives the key result, and a bad upload gives a clear error.

One Streamlit server for the module; each test opens a fresh browser page. Screenshots of each page's
example and of each bad upload land in test-artifacts/ (kept by CI). The bad files come from
tests/badinputs.make_corpus.
"""
from __future__ import annotations

import re

import pytest

from pages.common import available_views
from tests import browser_models
from tests.badinputs import make_corpus
from tests.browser import ARTIFACTS, browser_available, screenshot, wait_until_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not browser_available(), reason="Debian chromium or playwright not installed")]

TIMEOUT = 180_000
ERROR = '[data-testid="stAlertContentError"]'


# URL query parameters that pick the tiny test models (shipped ones may exist too)
QUERY = {"segmentation": f"?seg_model={browser_models.SEGMENTATION}", "lineage": f"?lin_model={browser_models.LINEAGE}",
         "gan": f"?model={browser_models.GAN}&n=3"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("browser-bad"))


class Visit:
    """One browser tab on one page, collecting JavaScript errors."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.js_errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.js_errors.append(str(exc)))
        self.page.goto(url, timeout=60_000)
        wait_until_idle(self.page, TIMEOUT)

    def radio(self, option: str) -> None:
        self.page.locator('[data-testid="stRadio"] label').filter(has_text=option).first.click()
        wait_until_idle(self.page, TIMEOUT)

    def click(self, button: str) -> None:
        self.page.get_by_role("button", name=button).first.click()
        wait_until_idle(self.page, TIMEOUT)

    def upload(self, path, index: int = 0) -> None:
        self.page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(index).set_input_files(str(path))
        wait_until_idle(self.page, TIMEOUT)

    def text(self) -> str:
        return self.page.locator('[data-testid="stMain"]').inner_text()

    def wait_text(self, pattern: str) -> str:
        """Wait until the main area shows text matching ``pattern``; returns the match.

        The match is read from the element found, looked up afresh: a rerun may redraw it between the wait and the
        read (reading the whole main area then once missed it on a busy machine)."""
        found = self.page.locator('[data-testid="stMain"]').get_by_text(re.compile(pattern)).first
        found.wait_for(timeout=TIMEOUT)
        return re.search(pattern, found.inner_text(timeout=TIMEOUT)).group(0)

    def error(self) -> str:
        self.page.locator(ERROR).first.wait_for(timeout=TIMEOUT)
        return self.page.locator(ERROR).first.inner_text()

    def finish(self, shot: str) -> None:
        screenshot(self.page, shot)
        exceptions = self.page.locator('[data-testid="stException"]').count()
        self.context.close()
        assert exceptions == 0, f"{shot}: a traceback is shown"
        assert not self.js_errors, f"{shot}: JavaScript errors {self.js_errors}"


# stem -> (steps that run the example, then the key result as a regex)
def _segmentation(v):
    return v.wait_text(r"\d+ (nuclei|cells)")


def _lineage(v):
    v.page.locator('[data-testid="stMetric"]').filter(has_text="Total cells").first.wait_for(timeout=TIMEOUT)
    v.page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=TIMEOUT)
    return v.page.locator('[data-testid="stMetric"]').filter(has_text="Total cells").first.inner_text()


def _tracking(v):
    v.page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=TIMEOUT)
    return v.wait_text(r"Behaviour over time")


def _forecast(v):
    return v.wait_text(r"\d+ time steps, step")


def _pca(v):
    v.page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=TIMEOUT)
    return v.wait_text(r"\d+ toy embryos whose lineages keep")


def _gan(v):
    return v.wait_text(r"Interpolation between two seeds")


def _train(v):
    return v.wait_text(r"\d+ pairs matched by name")


def _batch(v):
    v.click("Start")
    return v.wait_text(r"\d+ files: \d+ ok, 0 failed")


def _simulator(v):
    v.page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=TIMEOUT)
    return v.wait_text(r"Embryo")


EXAMPLES = {"segmentation": _segmentation, "lineage": _lineage, "tracking": _tracking, "forecast": _forecast,
            "pca": _pca, "gan": _gan, "train": _train, "batch": _batch, "simulator": _simulator}

# stem -> (radio option that shows the uploader, bad corpus file, button to press after the upload or None)
BAD_UPLOADS = {
    "segmentation": ("Upload", "text_named.png", None),
    "lineage": ("Upload", "truncated.tif", None),
    "tracking": ("Upload a video", "garbage.avi", None),
    "forecast": ("Upload a CSV", "binary.csv", None),
    "pca": ("Upload cell tables", "missing_columns.csv", None),
    "gan": ("Upload a ZIP", "traversal.zip", "Start training"),
    "train": ("Upload a ZIP", "bomb.zip", None),
    "batch": ("Upload a ZIP of files", "traversal.zip", None),
}
STEMS = [v[0] for v in available_views()]


def test_every_page_with_an_upload_has_a_bad_upload_test():
    uploading = {p for p in STEMS if "file_uploader(" in (ARTIFACTS.parent / "pages" / f"{p}.py").read_text()}
    assert uploading <= set(BAD_UPLOADS)
    assert set(STEMS) <= set(EXAMPLES)


@pytest.mark.parametrize("stem", [s for s in BAD_UPLOADS if s in STEMS])
def test_bad_upload_gives_a_clear_error(server, browser, corpus, stem):
    option, bad, button = BAD_UPLOADS[stem]
    visit = Visit(browser, f"{server}/{stem}{QUERY.get(stem, '')}")
    visit.radio(option)
    visit.upload(corpus[bad])
    if button:
        visit.click(button)
    message = visit.error()
    assert len(message) > 20 and "Traceback" not in message, message
    visit.finish(f"bad-upload-{stem}")


@pytest.mark.parametrize("stem", [s for s in ("segmentation", "lineage", "tracking") if s in STEMS])
def test_a_microscope_makers_file_is_taken_by_the_uploader_and_named_with_the_fiji_step(server, browser, tmp_path,
                                                                                         stem):
    path = tmp_path / "embryo 3.czi"
    path.write_bytes(b"ZISRAWFILE" + bytes(4000))
    visit = Visit(browser, f"{server}/{stem}{QUERY.get(stem, '')}")
    visit.radio(BAD_UPLOADS[stem][0])
    visit.upload(path)
    message = visit.error()
    assert "'embryo 3.czi' is a Zeiss CZI file" in message and "Bio-Formats" in message, message
    visit.finish(f"czi-upload-{stem}")


def test_a_time_stamp_burned_into_a_colour_upload_is_named_on_the_segmentation_page(server, browser, tmp_path):
    import numpy as np
    from PIL import Image

    from devocore.simulate import embryo
    from tools.experiments.lineage_overlays import stamp

    image, _ = embryo.nucleus_slice(3, size=256)
    green = np.zeros(image.shape + (3,), np.uint8)
    green[..., 1] = image
    Image.fromarray(stamp(green, 5)).save(tmp_path / "stamped.png")
    visit = Visit(browser, f"{server}/segmentation{QUERY['segmentation']}")
    visit.radio("Upload")
    visit.upload(tmp_path / "stamped.png")
    assert visit.wait_text(r"'stamped.png' carries white or grey marks on its colour") == \
        "'stamped.png' carries white or grey marks on its colour"
    visit.finish("segmentation-stamped-upload")


@pytest.mark.parametrize("stem", [s for s in EXAMPLES if s in STEMS])
def test_example_gives_its_key_result(server, browser, stem):
    visit = Visit(browser, f"{server}/{stem}{QUERY.get(stem, '')}")
    result = EXAMPLES[stem](visit)
    assert result
    visit.finish(f"example-{stem}")


def _count_script_runs(visit: Visit) -> None:
    """From now on, count in window.__runs how often the page's script starts (full or partial reruns)."""
    visit.page.evaluate("""() => {
        window.__runs = 0;
        const app = document.querySelector('[data-testid="stApp"]');
        new MutationObserver(() => {
            if (app.getAttribute('data-test-script-state') === 'running') window.__runs += 1;
        }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    }""")


def test_the_train_page_polls_only_while_a_run_goes(server, browser):
    """The live progress reruns itself while training runs, draws the results once it ends, then stays still:
    an idle page that reruns every second costs the server CPU and races the visitor's clicks."""
    quiet = 4000  # ms; while polling, the page would rerun about four times in this
    visit = Visit(browser, f"{server}/train?train_start=%28from+scratch%29&train_size=64&train_epochs=2"
                           "&train_steps=2&train_batch=2")
    _count_script_runs(visit)
    visit.page.wait_for_timeout(quiet)
    assert visit.page.evaluate("window.__runs") == 0, "the idle page reruns itself"
    visit.click("Start training")
    visit.wait_text(r"Done: best epoch \d of \d")
    visit.page.get_by_text("7. Comparison on your validation images").wait_for(timeout=TIMEOUT)
    wait_until_idle(visit.page, TIMEOUT)
    _count_script_runs(visit)
    visit.page.wait_for_timeout(quiet)
    assert visit.page.evaluate("window.__runs") == 0, "the page still reruns itself after the run ended"
    visit.finish("train-run")


def test_a_zip_of_numbered_frames_keeps_its_numbers_on_the_lineage_page(server, browser, tmp_path):
    import zipfile

    import cv2

    from devocore.simulate import epic_movie as em
    from tests.test_lineage import toy_curves

    numbers = [150, 151, 152, 153, 154, 155, 158, 159, 160, 161, 162, 163]  # two frames missing after 155
    frames = em.render_movie(em.toy_snapshots(toy_curves(), n_frames=len(numbers), seed=3), seed=1)
    archive = tmp_path / "numbered.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for number, frame in zip(numbers, frames):
            z.writestr(f"embryo/t{number}.png", cv2.imencode(".png", frame[..., ::-1])[1].tobytes())
    visit = Visit(browser, f"{server}/lineage{QUERY['lineage']}")
    visit.radio("Upload")
    visit.upload(archive)
    visit.wait_text(r"12 frames, numbered 150-163 by their file names")
    slider = visit.page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]').first
    assert (slider.get_attribute("min"), slider.input_value()) == ("150", "150")  # the slider shows frame numbers
    visit.finish("lineage-numbered-zip")


def test_a_zip_of_z_stacks_one_per_time_point_is_projected_on_the_lineage_page(server, browser, tmp_path):
    import io
    import zipfile

    import numpy as np
    import tifffile

    from devocore.simulate import epic_movie as em
    from tests.test_lineage import toy_curves

    frames = em.render_movie(em.toy_snapshots(toy_curves(), n_frames=8, seed=3), seed=1)
    archive = tmp_path / "embryo stacks.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for t, frame in enumerate(frames):
            grey, stack = np.asarray(frame)[..., 1], io.BytesIO()
            tifffile.imwrite(stack, np.stack([grey // 3, grey, grey // 2]), imagej=True, metadata={"axes": "ZYX"})
            z.writestr(f"t{t:03d}.tif", stack.getvalue())
    visit = Visit(browser, f"{server}/lineage{QUERY['lineage']}")
    visit.radio("Upload")
    visit.upload(archive)
    # the note names the upload, not the folder it was staged in
    assert visit.wait_text(r"each file of '[^']+' is a stack of 3 z-slices") == \
        "each file of 'embryo stacks.zip' is a stack of 3 z-slices"
    visit.wait_text(r"8 frames, numbered from 1")
    visit.finish("lineage-zip-of-z-stacks")


def test_an_uploaded_curvature_table_with_tracking_gaps_is_forecast_without_scoring_the_gaps(server, browser,
                                                                                           tmp_path):
    import numpy as np
    import pandas as pd

    t = np.arange(400)
    table = pd.DataFrame({"time_s": t / 10, "x": np.sin(2 * np.pi * t / 40)})
    table.loc[330:349, "x"] = np.nan  # the worm was lost for 20 frames of the test part
    path = tmp_path / "gaps.csv"
    table.to_csv(path, index=False)
    visit = Visit(browser, f"{server}/forecast?fc_h=5&fc_lb=12&fc_ep=1&fc_ens=1&fc_hid=8")
    visit.radio("Upload a CSV")
    visit.upload(path)
    visit.wait_text(r"Filled 20 missing value\(s\) in 20 of 400 rows \(longest gap 20 rows\)")
    visit.click("Train and forecast")
    visit.wait_text(r"best baseline")
    assert visit.text().count("Filled 20 missing value(s)") == 1  # the series' note, not repeated by the result
    with visit.page.expect_download(timeout=TIMEOUT) as download:
        visit.page.get_by_role("button", name=re.compile("Download the forecasts")).click()
    forecasts = pd.read_csv(download.value.path())
    unscored = forecasts["truth"].isna()
    # origins and steps are numbered from 1 in the download: rows 331..350 are the filled ones
    assert set(forecasts.loc[unscored, "origin"] + forecasts.loc[unscored, "step"]) == set(range(331, 351))
    visit.finish("forecast-upload-with-gaps")

"""Which model fits an image: guess_task on simulated slices and the bundled examples (known answers)."""
import numpy as np
import pytest

from devocore import io, segmentation
from devocore.config import EXAMPLES_DIR
from devocore.simulate.slices import membrane_sample, nucleus_sample

SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_simulated_nuclei_are_guessed_as_nuclei(seed):
    image = nucleus_sample(np.random.default_rng(seed), 256)[0]
    assert segmentation.guess_task(image) == "nucleus"


@pytest.mark.parametrize("seed", SEEDS)
def test_simulated_membranes_are_guessed_as_membranes(seed):
    image = membrane_sample(np.random.default_rng(seed), 256)[0]
    assert segmentation.guess_task(image) == "membrane"


@pytest.mark.parametrize("name, task", [("nuclei.png", "nucleus"), ("membrane.png", "membrane"),
                                        ("nuclei_stack.tif", "nucleus")])
def test_bundled_examples_are_guessed_right(name, task):
    image = io.read_image((EXAMPLES_DIR / "segmentation" / name).read_bytes(), name=name)
    planes = np.stack([io.to_gray(p) for p in image.planes()])
    assert segmentation.guess_task(planes) == task
    assert segmentation.guess_task(planes[len(planes) // 2]) == task


def test_every_frame_of_the_bundled_real_epic_movie_is_nuclei():
    # with the threshold at 0.4, the frames after about the 50-cell stage (dense small nuclei, blob ratios
    # 0.29-0.38) were guessed membranes, and the Segmentation page chose the membrane model for them
    from devocore.lineage import nucleus_channel

    with io.open_frames(EXAMPLES_DIR / "lineage" / "embryo_timelapse.mov") as frames:
        planes = [nucleus_channel(frame) for i, frame in enumerate(frames) if i % 40 == 0]
    assert len(planes) == 10 and min(map(io.blob_ratio, planes)) < 0.4
    assert [segmentation.guess_task(plane) for plane in planes] == ["nucleus"] * 10


def test_a_large_16_bit_membrane_image_is_still_membranes():
    """Binning to <= 512 px keeps thin lines: a membrane slice scaled up 4x, as 16-bit."""
    image = membrane_sample(np.random.default_rng(3), 256)[0]
    big = np.kron(image, np.ones((4, 4))).astype(np.uint16) * 200
    assert segmentation.guess_task(big) == "membrane"


def test_an_empty_or_noise_image_counts_as_nuclei():
    assert segmentation.guess_task(np.zeros((64, 64), np.uint8)) == "nucleus"
    noise = np.random.default_rng(0).normal(100, 10, (128, 128))
    assert segmentation.guess_task(noise) == "nucleus"


def test_model_for_prefers_the_model_named_after_the_task():
    rows = [{"name": "tiny", "target": "membrane"}, {"name": "membrane", "target": "membrane"},
            {"name": "nucleus", "target": "nucleus"}]
    assert segmentation.model_for("membrane", rows) == "membrane"
    assert segmentation.model_for("nucleus", rows) == "nucleus"
    assert segmentation.model_for("nucleus", rows[:1]) is None


def _result(labels, task):
    return segmentation.Result(np.zeros(labels.shape, np.float32), labels, segmentation.measure(labels), 0.5, task)


def test_a_few_huge_cells_are_implausible_and_many_small_ones_are_not():
    few = np.zeros((100, 100), np.uint16)
    few[10:70, 10:70], few[80:90, 80:90] = 1, 2  # one "cell" 36 % of the image
    message = segmentation.implausible(_result(few, "membrane"), image_task="nucleus")
    assert message.startswith("Only 2 cells cover 37% of the image") and "try a nucleus model" in message
    assert "try another threshold" in segmentation.implausible(_result(few, "membrane"), image_task="membrane")
    many = np.zeros((100, 100), np.uint16)
    for i in range(6):
        many[i * 15:i * 15 + 10, 10:90] = i + 1  # six cells covering half the image
    assert segmentation.implausible(_result(many, "membrane")) is None
    small = np.zeros((100, 100), np.uint16)
    small[10:20, 10:20], small[40:50, 40:50] = 1, 2  # two small nuclei: nothing odd
    assert segmentation.implausible(_result(small, "nucleus")) is None


def _widened(image: np.ndarray, factor: float) -> np.ndarray:
    """``image`` in the middle of a field ``factor`` times as wide, filled with its darker half's pixels."""
    rng = np.random.default_rng(0)
    h, w = image.shape
    field = rng.choice(image[image < np.percentile(image, 50)], size=(int(h * factor), int(w * factor)))
    top, left = (field.shape[0] - h) // 2, (field.shape[1] - w) // 2
    field[top:top + h, left:left + w] = image
    return field.astype(image.dtype)


@pytest.mark.parametrize("name, task", [("membrane.png", "membrane"), ("nuclei.png", "nucleus")])
def test_an_embryo_small_in_a_wide_field_is_named_with_the_crop_that_fixes_it(tmp_path, capsys, name, task):
    # audit: the bundled example set in a field twice as wide (as a 10x objective or a wide camera gives it) lost
    # 4 of 7 cells and 7 of 11 nuclei, without a word: the network sees every plane at 256 px
    import json

    from PIL import Image

    from devocore.cli import main

    image = io.to_gray(io.read_image(EXAMPLES_DIR / "segmentation" / name).data)
    assert segmentation.field_note(image, task, "x") is None
    assert segmentation.field_note(_widened(image, 1.5), task, "x") is None  # still segmented right
    wide = _widened(image, 2)
    note = segmentation.field_note(wide, task, "'wide.png'")
    assert note.startswith("'wide.png' shows") and "Image > Crop) and segment the crop" in note
    assert note.endswith("(Zoom about 2 on the Segmentation page; `segment --zoom 2`, or for a folder `batch --zoom "
                         "2`)." if task == "membrane" else
                         "(Zoom at least 2 on the Segmentation page; `segment --zoom 2`, or for a folder `batch "
                         "--zoom 2`).")
    Image.fromarray(wide).save(tmp_path / "wide.png")
    assert main(["segment", task, str(tmp_path / "wide.png"), "--out", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert note in summary["notes"]
    # the zoom it names finds what the image set in its own field gives (7 cells, 11 nuclei), and no note then
    fits = segmentation.segment(image, segmentation.load(task)).count
    assert main(["segment", task, str(tmp_path / "wide.png"), "--out", str(tmp_path / "zoomed"), "--zoom", "2",
                 "--json"]) == 0
    zoomed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["instances"] < fits == zoomed["instances"] and not zoomed["notes"]
    Image.fromarray(image).save(tmp_path / "fits.png")
    assert main(["segment", task, str(tmp_path / "fits.png"), "--out", str(tmp_path / "out2"), "--json"]) == 0
    assert not json.loads(capsys.readouterr().out.strip().splitlines()[-1])["notes"]


@pytest.mark.parametrize("task", ["membrane", "nucleus"])
def test_no_simulated_training_slice_gets_the_wide_field_note(task):
    sample = membrane_sample if task == "membrane" else nucleus_sample
    assert not [seed for seed in SEEDS
                if segmentation.field_note(sample(np.random.default_rng(seed), 256)[0], task, "x")]

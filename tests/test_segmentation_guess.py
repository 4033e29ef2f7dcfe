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

"""Property-based tests (hypothesis): readers and post-processing on random inputs.

Readers fed random bytes may only raise DevocoreError; valid random arrays round-trip
through PNG and TIFF; post-processing of random probability maps gives unique,
connected labels and never crashes on empty, full or NaN maps. Example counts are small.
"""
import io as _io
import zipfile

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from scipy import ndimage

from devocore import io as dio
from devocore.errors import DevocoreError

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Real file headers followed by random bytes reach deeper into each decoder than pure noise.
HEADS = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"PK\x03\x04", b"RIFF", b"GIF89a"]
SUFFIXES = [".png", ".jpg", ".tif", ".csv", ".txt", ""]


def _only_devocore_errors(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except DevocoreError as exc:
        assert str(exc).strip(), "a DevocoreError must carry a message"


@FAST
@given(head=st.sampled_from(HEADS), body=st.binary(max_size=2048), suffix=st.sampled_from(SUFFIXES))
def test_read_image_on_random_bytes_raises_only_devocore_errors(head, body, suffix):
    _only_devocore_errors(dio.read_image, head + body, name=f"upload{suffix}")


@FAST
@given(body=st.binary(max_size=2048))
def test_read_table_and_epic_on_random_bytes_raise_only_devocore_errors(body):
    _only_devocore_errors(dio.read_table, body, name="upload.csv")
    _only_devocore_errors(dio.read_epic, body, name="upload.csv")


@FAST
@given(text=st.text(alphabet=st.sampled_from(list("abcxyz0123456789,.;-\n\t \"'eE")), max_size=400))
def test_read_epic_on_random_csv_text_raises_only_devocore_errors(text):
    _only_devocore_errors(dio.read_epic, ("cell,time,x,y,z,size\n" + text).encode(), name="table.csv")


@FAST
@given(head=st.sampled_from([b"PK\x03\x04", b""]), body=st.binary(max_size=1024))
def test_extract_zip_on_random_bytes_raises_only_devocore_errors(tmp_path_factory, head, body):
    _only_devocore_errors(dio.extract_zip, head + body, tmp_path_factory.mktemp("zip"), name="upload.zip")


@FAST
@given(names=st.lists(st.text(alphabet=st.sampled_from(list("ab./\\")), min_size=1, max_size=8),
                      min_size=1, max_size=4, unique=True))
def test_extract_zip_never_writes_outside_its_folder(tmp_path_factory, names):
    base = tmp_path_factory.mktemp("zipnames")
    dest = base / "inside"
    buffer = _io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, name in enumerate(names):
            archive.writestr(name, b"x" * (i + 1))
    try:
        written = dio.extract_zip(buffer.getvalue(), dest, name="upload.zip")
    except DevocoreError:
        written = []
    outside = [p for p in base.rglob("*") if p.is_file() and dest.resolve() not in p.resolve().parents]
    assert not outside
    assert all(dest.resolve() in p.parents for p in written)


images_2d = st.one_of(
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40)),
    hnp.arrays(np.uint16, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40)),
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 30), st.integers(1, 30), st.just(3))),
)


@FAST
@given(array=images_2d)
def test_png_round_trip(array):
    buffer = _io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    image = dio.read_image(buffer.getvalue(), name="random.png")
    np.testing.assert_array_equal(np.squeeze(image.data), np.squeeze(array))


@FAST
@given(array=st.one_of(
    images_2d,
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=30),
               elements=st.floats(-1e3, 1e3, width=32)),
    hnp.arrays(np.uint16, st.tuples(st.integers(2, 5), st.integers(1, 20), st.integers(1, 20)))))
def test_tiff_round_trip(array):
    buffer = _io.BytesIO()
    tifffile.imwrite(buffer, array, photometric="rgb" if array.ndim == 3 and array.shape[-1] == 3 else "minisblack")
    image = dio.read_image(buffer.getvalue(), name="random.tif")
    np.testing.assert_array_equal(np.squeeze(image.data), np.squeeze(array))


# ----------------------------------------------------------------------------- post-processing

segmentation = pytest.importorskip("devocore.segmentation")

probability_maps = hnp.arrays(np.float32, st.tuples(st.integers(8, 48), st.integers(8, 48)),
                              elements=st.floats(0, 1, width=32))


def _blobby(noise: np.ndarray) -> np.ndarray:
    """Random maps smoothed into blobs, so instances are nucleus-like rather than salt and pepper."""
    smooth = ndimage.gaussian_filter(noise, 1.5)
    return (smooth - smooth.min()) / (np.ptp(smooth) + 1e-6)


def _check_labels(labels: np.ndarray, shape) -> None:
    assert labels.shape == tuple(shape)
    assert np.issubdtype(labels.dtype, np.integer)
    ids = np.unique(labels)
    ids = ids[ids > 0]
    # consecutive ids 1..n, each one connected piece (8-connectivity)
    np.testing.assert_array_equal(ids, np.arange(1, len(ids) + 1))
    for i in ids:
        _, pieces = ndimage.label(labels == i, structure=np.ones((3, 3)))
        assert pieces == 1, f"label {i} is split into {pieces} pieces"


@FAST
@given(noise=probability_maps, threshold=st.floats(0.1, 0.9), task=st.sampled_from(["nucleus", "membrane"]))
def test_instances_are_unique_and_connected(noise, threshold, task):
    probability = _blobby(noise) if task == "nucleus" else noise
    labels = segmentation.instances(probability, task=task, threshold=threshold)
    _check_labels(labels, probability.shape)


@pytest.mark.parametrize("task", ["nucleus", "membrane"])
@pytest.mark.parametrize("fill", [0.0, 1.0, np.nan])
def test_postprocess_on_empty_full_and_nan_maps(task, fill):
    probability = np.full((32, 40), fill, np.float32)
    try:
        result = segmentation.postprocess(probability, task=task)
    except DevocoreError:
        return  # a clear refusal is fine; anything else is a bug
    _check_labels(result.labels, probability.shape)
    if fill == 0.0 or np.isnan(fill):
        assert result.labels.max() == 0
    assert len(result.table) == result.labels.max()


@FAST
@given(noise=probability_maps, holes=hnp.arrays(np.bool_, st.just((8, 8))))
def test_postprocess_with_nan_patches_does_not_crash(noise, holes):
    probability = _blobby(noise)
    probability[:8, :8][holes] = np.nan
    result = segmentation.postprocess(probability, task="nucleus")
    _check_labels(result.labels, probability.shape)
    assert len(result.table) == result.labels.max()

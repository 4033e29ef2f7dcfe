"""Issue #31 point 4: stacks read plane by plane, limits from the header, bounded caches and frames."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import tifffile

from devocore import io as dio
from devocore.config import Limits
from devocore.errors import TooLargeError


def _stack(path, planes=40, side=256):
    data = np.stack([np.full((side, side), i, np.uint16) for i in range(planes)])
    data[:, 10, 20] = 1000
    tifffile.imwrite(path, data, compression="zlib", metadata={"axes": "ZYX"})
    return data


def test_tiff_stack_is_read_one_plane_at_a_time(tmp_path):
    path = tmp_path / "stack.tif"
    truth = _stack(path, planes=40, side=256)  # 40 x 128 KB = 5 MB decoded
    tracemalloc.start()
    try:
        image = dio.read_image(path)
        assert image.is_stack and image.n_planes == 40 and image.shape == (40, 256, 256)
        assert image._lazy.decoded == 0  # opening decodes nothing
        seen = []
        for i, plane in enumerate(image.planes()):
            assert image._lazy.decoded == i + 1  # exactly one page decoded per plane handed out
            seen.append(int(plane[0, 0]))
            del plane
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == list(range(40))
    whole = truth.nbytes
    assert peak < whole / 4, f"peak {peak / 2**20:.1f} MB while streaming a {whole / 2**20:.1f} MB stack"
    # the whole array is still there for callers that need it, equal to the file's pixels
    np.testing.assert_array_equal(image.data, truth)


def test_stream_frames_from_a_stack_are_lazy(tmp_path):
    path = tmp_path / "stack.tif"
    _stack(path, planes=6, side=64)
    with dio.open_frames(path) as source:
        assert source.shape == (64, 64) and len(source) == 6
        assert source.image._lazy.decoded == 0
        first = next(iter(source))
        assert source.image._lazy.decoded == 1 and int(first[10, 20]) == 1000


@pytest.mark.parametrize("shape,kwargs,axes", [
    ((3, 2, 20, 24), dict(imagej=True, metadata={"axes": "ZCYX"}), "ZYXC"),       # channels stored as pages
    ((4, 20, 24, 3), dict(photometric="rgb"), "TYXC"),                           # RGB pages
    ((4, 3, 20, 24), dict(photometric="rgb", planarconfig="separate"), "TYXC"),  # planar RGB pages
    ((2, 3, 20, 24), dict(imagej=True, metadata={"axes": "TZYX"}), "TZYX"),
])
def test_lazy_planes_match_the_whole_file(tmp_path, shape, kwargs, axes):
    path = tmp_path / "x.tif"
    data = np.random.default_rng(0).integers(0, 60000, shape).astype(np.uint16)
    tifffile.imwrite(path, data, **kwargs)
    image = dio.read_image(path)
    assert image.axes == axes
    if axes == "ZYXC":
        expected = np.moveaxis(data, 1, -1)
    elif kwargs.get("planarconfig") == "separate":
        expected = np.moveaxis(data, 1, -1)
    else:
        expected = data
    planes = list(image.planes())
    np.testing.assert_array_equal(np.stack(planes), expected.reshape((-1,) + expected.shape[-3 if "C" in axes else -2:]))
    np.testing.assert_array_equal(image.data, expected)
    # the same from the bytes of an upload
    np.testing.assert_array_equal(dio.read_image(path.read_bytes(), name="x.tif").data, expected)


def test_decoded_size_per_plane_is_checked_from_the_header(tmp_path):
    path = tmp_path / "float.tif"
    tifffile.imwrite(path, np.zeros((2, 512, 512), np.float32), compression="zlib")  # 1 MB per plane
    with pytest.raises(TooLargeError, match="per plane"):
        dio.read_image(path, limits=Limits(max_image_mb=0))
    assert dio.read_image(path, limits=Limits(max_image_mb=1)).n_planes == 2


def test_video_frames_times_pixels_is_checked_from_the_header(tmp_path):
    import cv2

    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    with pytest.raises(TooLargeError, match="5 frames of 64 x 48 pixels"):
        dio.open_frames(path, limits=Limits(max_video_pixels=5 * 64 * 48 - 1))
    with dio.open_frames(path, limits=Limits(max_video_pixels=5 * 64 * 48)) as source:
        assert len(source) == 5


def _discs(shape, n, radius, seed=0):
    import cv2

    prob = np.zeros(shape, np.float32)
    rng = np.random.default_rng(seed)
    centres = []
    while len(centres) < n:
        c = (int(rng.integers(radius + 2, shape[1] - radius - 2)), int(rng.integers(radius + 2, shape[0] - radius - 2)))
        if all((c[0] - a) ** 2 + (c[1] - b) ** 2 > (2.5 * radius) ** 2 for a, b in centres):
            centres.append(c)
            cv2.circle(prob, c, radius, 0.9, -1)
    return cv2.GaussianBlur(prob, (0, 0), 2), centres


@pytest.mark.parametrize("task", ["nucleus", "membrane"])
def test_huge_planes_are_postprocessed_at_work_size_with_the_same_result(monkeypatch, task):
    from devocore import segmentation as seg

    prob, centres = _discs((600, 800), 12, 30)
    if task == "membrane":  # cells: dark interiors inside bright membrane
        prob = 1.0 - prob / 0.9
    full = seg.instances(prob, task)
    monkeypatch.setattr(seg.cells, "WORK_PIXELS", prob.size // 4)  # work at half the side
    work = seg.instances(prob, task)
    assert work.shape == full.shape and work.dtype == np.uint16
    assert int(work.max()) == int(full.max()) == 12
    for x, y in centres:  # every disc is one object in both
        assert work[y, x] > 0 and full[y, x] > 0
    overlap = np.logical_and(work > 0, full > 0).sum() / np.logical_or(work > 0, full > 0).sum()
    assert overlap > 0.95


def test_huge_planes_are_streamed_one_at_a_time(monkeypatch):
    from devocore import segmentation as seg

    monkeypatch.setattr(seg.predict, "BATCH_PIXELS", 3 * 100 * 100)  # 100 x 100 planes count as huge: 3 per batch
    seen = []

    class Fake:  # records the batches the network would get
        def probabilities(self, planes):
            seen.append(len(planes))
            return [np.zeros(p.shape, np.float32) for p in planes]

    out = list(seg.batched_probabilities((np.zeros((100, 100), np.uint8) for _ in range(7)), Fake(), batch=8))
    assert len(out) == 7 and seen == [3, 3, 1]


def test_track_shrinks_huge_frames_and_reports_original_pixels(tmp_path, monkeypatch):
    import cv2

    from devocore.tracking import tracker
    from devocore.tracking.synthetic import clip

    frames, truth = clip(n_frames=40, n_worms=1, seed=0, size=(400, 520), length=120, width=14, speed=4)
    path = tmp_path / "big.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (520, 400))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    monkeypatch.setattr(tracker, "WORK_PIXELS", 400 * 520 // 4)  # tracked at half the side: 200 x 260
    seen = []
    real = tracker.track_frames

    def spy(frames, *args, **kwargs):
        def look():
            for f in frames:
                seen.append(f.shape)
                yield f
        return real(look(), *args, **kwargs)

    monkeypatch.setattr(tracker, "track_frames", spy)
    result = tracker.track(path, tracker.TrackConfig(fps=10, px_per_mm=100.0))
    assert set(seen) == {(200, 260)}  # every frame shrunk as it was read
    assert result.scale == pytest.approx(0.5) and result.shape == (400, 520)
    table = result.table[result.table["status"] == "ok"]
    assert table["worm"].nunique() == 1 and len(table) >= 30
    merged = table.merge(truth, on="frame", suffixes=("", "_true"))
    # positions and lengths in the original pixels: within 3 px of the truth, length within 10 %
    error = np.hypot(merged["centroid_x"] - merged["centroid_x_true"], merged["centroid_y"] - merged["centroid_y_true"])
    assert float(np.median(error)) < 3.0
    assert float(np.median(table["length_px"])) == pytest.approx(120, rel=0.1)
    assert float(np.median(table["length_mm"])) == pytest.approx(1.2, rel=0.1)  # 100 px per original mm
    assert float(np.median(table["area_px"])) > 120 * 14 * 0.5


def test_page_cache_is_bounded_by_bytes():
    from devocore.ui_cache import ByteBudgetCache

    mb = 2**20
    cache = ByteBudgetCache(budget_bytes=int(3.5 * mb))
    for key in "abc":
        assert cache.put(key, np.zeros(mb, np.uint8))  # about 1 MB each once pickled
    assert len(cache) == 3 and 3 * mb < cache.nbytes <= 3.5 * mb
    assert cache.get("a")[0]  # "a" is now the most recently used
    cache.put("d", np.zeros(mb, np.uint8))  # over budget: the least recently used ("b") goes
    assert [k for k in "abcd" if cache.get(k)[0]] == ["a", "c", "d"]
    assert cache.nbytes <= 3.5 * mb and cache.evictions == 1
    assert not cache.put("huge", np.zeros(4 * mb, np.uint8))  # larger than the whole budget: not kept
    assert not cache.get("huge")[0] and len(cache) == 3
    hit, value = cache.get("a")
    value[:] = 7  # a copy: changing it leaves the cache alone
    assert int(cache.get("a")[1].max()) == 0


def test_page_cache_expires_and_caps_entries():
    from devocore.ui_cache import ByteBudgetCache

    now = [0.0]
    cache = ByteBudgetCache(budget_bytes=10**6, max_entries=2, ttl=10, clock=lambda: now[0])
    cache.put(1, "one"), cache.put(2, "two"), cache.put(3, "three")
    assert [k for k in (1, 2, 3) if cache.get(k)[0]] == [2, 3]
    now[0] = 11.0
    assert not cache.get(3)[0] and len(cache) == 1


def test_cached_page_function_computes_once_and_ignores_underscore_arguments():
    from devocore import ui_cache

    calls = []
    store = ui_cache.ByteBudgetCache(budget_bytes=10**7)

    @ui_cache.data(cache=store)
    def planes(digest, scale, _data=None):
        calls.append(digest)
        return np.full((4, 4), scale)

    a = planes("x", 2, _data=b"big upload")
    b = planes("x", 2, _data=b"another object, same digest")
    c = planes("y", 2)
    assert calls == ["x", "y"] and int(a.sum()) == int(b.sum()) == int(c.sum()) == 32
    assert len(store) == 2


def test_huge_plane_input_is_shrunk_before_stretching_with_the_same_result(monkeypatch):
    from devocore import segmentation as seg

    rng = np.random.default_rng(3)
    plane = (rng.normal(3000, 400, (512, 640)) + np.linspace(0, 20000, 640)).clip(0, 65535).astype(np.uint16)
    expected = seg.resize(seg.to_input(plane), (64, 80))  # stretch the whole plane, then resize
    monkeypatch.setattr(seg.cells, "WORK_PIXELS", 1000)  # the plane now counts as huge
    got = seg.predict._small_input(plane, (64, 80))
    assert got.shape == (64, 80) and got.dtype == np.float32
    assert float(np.abs(got - expected).max()) < 0.01


def test_outlines_from_shifted_views_equal_the_grey_morphology_ones():
    from scipy import ndimage as ndi

    from devocore.segmentation import outlines

    rng = np.random.default_rng(0)
    for trial in range(20):
        labels = rng.integers(0, 4, (int(rng.integers(1, 40)), int(rng.integers(1, 40)))).astype(np.uint16)
        if trial % 2:
            labels = ndi.median_filter(labels, 3)  # blobs as well as speckle
        expected = (labels > 0) & ~(ndi.grey_erosion(labels, size=3) == ndi.grey_dilation(labels, size=3))
        np.testing.assert_array_equal(outlines(labels), expected)


def test_a_huge_planes_probability_stays_at_work_size_and_its_labels_come_back_at_the_plane_size(monkeypatch):
    """Issue #31: a huge plane's probability map is kept at cells.work_shape (where it is post-processed), not
    stretched to the plane (256 MB at 64 megapixels); postprocess given the plane scales the labels back to it."""
    from devocore import nets
    from devocore import segmentation as seg

    net = nets.build("fpn").eval()
    net.card = {"input_size": 64, "target": "nucleus"}
    monkeypatch.setattr(seg.cells, "WORK_PIXELS", 100 * 120 // 4)  # 100 x 120 planes are huge: work at half
    predictor = seg.Predictor(net, bf16=False)
    assert predictor.probability(np.zeros((100, 120), np.uint8)).shape == (50, 60) == seg.work_shape((100, 120))
    assert predictor.probability(np.zeros((40, 70), np.uint8)).shape == (40, 70)  # small planes: as they are
    small, centres = _discs((50, 60), 3, 6)
    result = seg.postprocess(small, np.zeros((100, 120), np.uint16), "nucleus")
    assert result.labels.shape == (100, 120) and result.count == 3
    found = sorted(zip(result.table["centroid_x"], result.table["centroid_y"]))
    for (x, y), (cx, cy) in zip(sorted(centres), found):
        assert abs(cx - (2 * x + 0.5)) < 1.5 and abs(cy - (2 * y + 0.5)) < 1.5
    # the same labels as the map stretched to the plane first (as it was), then shrunk to the work size again
    before = seg.instances(seg.resize(small, (100, 120)), "nucleus")
    assert np.logical_and(before > 0, result.labels > 0).sum() / np.logical_or(before > 0, result.labels > 0).sum() > 0.95


def test_percentiles_of_16_bit_pixels_are_counted_in_chunks_exactly(monkeypatch):
    from devocore.io import pixels

    rng = np.random.default_rng(1)
    image = rng.integers(0, 5000, (300, 217), dtype=np.uint16)
    monkeypatch.setattr(pixels, "HISTOGRAM_CHUNK", 1000)  # 66 chunks
    assert pixels.integer_percentiles(image, (0, 1, 50, 99.8, 100)) == pytest.approx(
        np.percentile(image, (0, 1, 50, 99.8, 100)).tolist())
    assert pixels._histogram(image).tolist()[:5000] == np.bincount(image.ravel(), minlength=5000).tolist()

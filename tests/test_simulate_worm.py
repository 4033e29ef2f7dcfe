"""The worm simulator: truth agrees with the pictures, the body moves like a worm, files are written."""
import inspect
import time

import cv2
import numpy as np
import pandas as pd
import pytest

from devocore import cli
from devocore.errors import DevocoreError
from devocore.simulate import worm

SMALL = (240, 320)


def _polyline_length(row: pd.Series, n: int = worm.N_MIDLINE) -> float:
    xs = row[[f"mid_x_{i:02d}" for i in range(n)]].to_numpy(float)
    ys = row[[f"mid_y_{i:02d}" for i in range(n)]].to_numpy(float)
    return float(np.hypot(np.diff(xs), np.diff(ys)).sum())


@pytest.fixture(scope="module")
def video():
    return worm.simulate_video(seed=4, n_frames=40, n_worms=2, size=SMALL, length_px=90)


def test_truth_has_the_promised_columns(video):
    truth = video.truth
    assert list(truth.columns[:len(worm.TRUTH_COLUMNS)]) == worm.TRUTH_COLUMNS
    assert set(worm.midline_columns()) <= set(truth.columns)
    assert len(truth) == 40 * 2
    assert truth.groupby("frame").worm.apply(list).map(lambda w: w == [0, 1]).all()


@pytest.mark.parametrize("dark_on_light", [True, False])
def test_head_and_body_pixels_lie_on_the_worm(dark_on_light):
    look = worm.WormAppearance(dark_on_light=dark_on_light, background=150 if dark_on_light else 40)
    video = worm.simulate_video(seed=1, n_frames=30, n_worms=2, size=SMALL, length_px=90, appearance=look)
    sign = 1 if dark_on_light else -1
    checked = 0
    for index, frame in enumerate(video.frames()):
        if index % 5:
            continue
        for _, row in video.truth[video.truth.frame == index].iterrows():
            for x, y in [(row.head_x, row.head_y), (row.mid_x_24, row.mid_y_24)]:
                col, line = int(round(x)), int(round(y))
                if 0 <= col < SMALL[1] and 0 <= line < SMALL[0]:
                    plate = video.background[line, col]
                    assert sign * (plate - float(frame[line, col])) > 20, (index, row.worm, x, y)
                    checked += 1
    assert checked >= 20
    # far from every worm the picture is the plate (within noise and dirt)
    far = video.frame(0).astype(float) - video.background
    mask = np.ones(SMALL, bool)
    for _, row in video.truth[video.truth.frame == 0].iterrows():
        cv2.circle(mask.view(np.uint8), (int(row.centroid_x), int(row.centroid_y)), 70, 0, -1)
    assert np.median(np.abs(far[mask])) < 6


def test_midline_length_matches_length_px(video):
    truth = video.truth
    lengths = truth.apply(_polyline_length, axis=1)
    assert np.allclose(lengths, truth.length_px, rtol=0.02)
    assert np.allclose(truth.length_px, 90)


def test_width_is_realistic_and_head_blunter_than_tail(video):
    ratio = video.tracks.lengths / video.tracks.widths
    assert np.all((ratio >= 9) & (ratio <= 12))
    assert worm.width_profile(np.array([0.03]))[0] > 2 * worm.width_profile(np.array([0.97]))[0]


def test_same_seed_same_bytes_other_seed_differs():
    a = worm.simulate_video(seed=7, n_frames=6, n_worms=2, size=SMALL)
    b = worm.simulate_video(seed=7, n_frames=6, n_worms=2, size=SMALL)
    c = worm.simulate_video(seed=8, n_frames=6, n_worms=2, size=SMALL)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert all(np.array_equal(fa, fb) for fa, fb in zip(a.frames(), b.frames()))
    assert not np.array_equal(a.frame(5), c.frame(5))


def test_frames_stream_one_at_a_time(video):
    frames = video.frames()
    assert inspect.isgenerator(frames)
    first = next(frames)
    assert first.shape == SMALL and first.dtype == np.uint8


def test_in_view_turns_false_when_a_worm_crawls_out():
    height, width = SMALL
    length = 90.0
    steady = worm.Kinematics(run_s=1000.0)  # keep crawling forward
    video = worm.simulate_video(seed=0, n_frames=100, n_worms=1, size=SMALL, length_px=length,
                                starts=[(width - 1 - 0.6 * length, height / 2, 0.0)], kinematics=steady,
                                bounded=False)
    truth = video.truth
    assert truth.in_view.iloc[0]
    out = truth[~truth.in_view]
    assert len(out) > 0
    first_out = out.iloc[0]
    assert first_out.head_x > width - 1 - 0.3 * length  # the head left through the right edge


def test_bounded_worms_stay_mostly_in_view():
    tracks = worm.simulate_tracks(seed=0, n_frames=1500, n_worms=3, size=SMALL, length_px=80)
    assert tracks.in_view.mean() > 0.85
    free = worm.simulate_tracks(seed=0, n_frames=1500, n_worms=3, size=SMALL, length_px=80, bounded=False)
    assert free.in_view.mean() < tracks.in_view.mean()


def test_touching_flagged_only_when_bodies_meet():
    crossing = worm.simulate_tracks(seed=0, n_frames=1, n_worms=2, size=SMALL, length_px=90,
                                    starts=[(160, 120, 0.0), (160, 120, np.pi / 2)])
    apart = worm.simulate_tracks(seed=0, n_frames=1, n_worms=2, size=SMALL, length_px=90,
                                 starts=[(60, 60, 0.0), (260, 180, 0.0)])
    assert crossing.touching[0].all()
    assert not apart.touching[0].any()


def _turning(tracks, t):
    mid = tracks.midlines[t, 0]
    angles = np.unwrap(np.arctan2(*np.diff(mid, axis=0).T[::-1]))
    return np.diff(angles)


def _wave_shift(tracks, t, lag=4):
    """How many midline points the bending pattern moved towards the tail between t and t + lag."""
    before, after = _turning(tracks, t), _turning(tracks, t + lag)
    shifts = range(-6, 7)
    score = [np.dot(before[max(0, -k):len(before) - max(0, k)], after[max(0, k):len(after) - max(0, -k)])
             / (len(before) - abs(k)) for k in shifts]
    return list(shifts)[int(np.argmax(score))]


def test_body_wave_travels_to_the_tail_forward_and_to_the_head_in_reversals():
    tracks = worm.simulate_tracks(seed=3, n_frames=1500, n_worms=1, length_px=100, bounded=False)
    states, speed = tracks.behaviour[:, 0], tracks.speed[:, 0]
    forward = [t for t in range(1, 1490, 7) if states[t] == worm.FORWARD and speed[t] > 15]
    reverse = [t for t in range(1, 1490) if states[t] == worm.REVERSE and speed[t] < -15]
    assert len(forward) > 10 and len(reverse) > 5
    assert np.mean([_wave_shift(tracks, t) > 0 for t in forward]) > 0.9
    assert np.mean([_wave_shift(tracks, t) < 0 for t in reverse]) > 0.9


def test_head_is_the_leading_end_when_crawling_forward():
    tracks = worm.simulate_tracks(seed=5, n_frames=60, n_worms=1, length_px=100, bounded=False,
                                  kinematics=worm.Kinematics(run_s=1000.0))
    mid = tracks.midlines[:, 0]
    motion = mid[-1].mean(axis=0) - mid[0].mean(axis=0)
    # the head moves to where the body goes: the head's new position is close to the path ahead
    assert np.linalg.norm(mid[-1, 0] - mid[0, 0]) > 10
    assert np.dot(motion, mid[0, 0] - mid[0, -1]) > 0


def test_head_sweeps_while_crawling_forward_and_not_in_reversals():
    forward = dict(seed=2, n_frames=50, n_worms=1, length_px=100, bounded=False)
    swept = worm.simulate_tracks(**forward, kinematics=worm.Kinematics(run_s=1000.0)).midlines[:, 0]
    still = worm.simulate_tracks(**forward, kinematics=worm.Kinematics(run_s=1000.0, forage_rad=0.0)).midlines[:, 0]
    # behind the neck (1/8 of the body, 6 of 48 steps) the body and its path are unchanged
    np.testing.assert_allclose(swept[:, 7:], still[:, 7:], atol=1e-6)
    assert np.hypot(*(swept[:, 0] - still[:, 0]).T).max() > 1.5  # the tip swings aside
    lengths = np.hypot(*np.diff(swept, axis=1).T).sum(axis=0)
    np.testing.assert_allclose(lengths, 100.0, atol=0.5)

    crawler = worm._Crawler(np.random.default_rng(0), 100.0, 10.0, worm.Kinematics(), 25.0)
    crawler._enter(worm.REVERSE)
    crawler.timer = 10.0
    for _ in range(50):  # 2 s of reversing
        crawler.step(0.04, None)
    np.testing.assert_allclose(crawler.swept(), crawler.pts, atol=0.05)


def test_behaviour_series_is_finite_and_reversals_flip_the_speed():
    series = worm.behaviour_series(seed=0, n_steps=2000, fps=25.0, with_states=True)
    assert series.shape == (2000, 6)
    numbers = series.drop(columns="behaviour")
    assert np.isfinite(numbers.to_numpy()).all()
    assert np.allclose(np.diff(series.time_s), 1 / 25)
    assert (series.head_tail_distance > 0).all() and (series.head_tail_distance <= 1.0).all()
    assert series.head_tail_distance.max() > 0.8 and series.head_tail_distance.min() < 0.7  # turns bend it
    assert series.curvature.between(0.1, 20).all()
    reversing = series[series.behaviour == "reverse"].speed
    running = series[series.behaviour == "forward"].speed
    assert len(reversing) > 50
    assert (reversing < 0).mean() > 0.8
    assert (running > 0).mean() > 0.9
    assert 0.08 < running.median() < 0.4  # mm/s, the speed of crawling adults


def test_behaviour_series_is_fast():
    started = time.perf_counter()
    worm.behaviour_series(seed=1, n_steps=2000)
    assert time.perf_counter() - started < 5.0


def test_one_frame_renders_in_under_50_ms():
    video = worm.simulate_video(seed=0, n_frames=12, n_worms=3, size=(480, 640), length_px=160)
    video.frame(0)
    cv2.setNumThreads(1)
    try:
        times = []
        for index in range(1, 12):
            started = time.perf_counter()
            video.frame(index)
            times.append(time.perf_counter() - started)
    finally:
        cv2.setNumThreads(-1)
    assert np.median(times) < 0.05


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(DevocoreError, match="worms"):
        worm.simulate_tracks(n_worms=0)
    with pytest.raises(DevocoreError, match="start"):
        worm.simulate_tracks(n_worms=2, starts=[(1, 1, 0)])
    with pytest.raises(DevocoreError, match="contrast"):
        worm.WormAppearance(contrast=2)


def test_sampled_appearances_vary_and_render():
    looks = [worm.sample_appearance(np.random.default_rng(i)) for i in range(20)]
    assert len({look.dark_on_light for look in looks}) == 2
    frame = worm.simulate_video(seed=0, n_frames=1, size=(64, 96), length_px=40, appearance=looks[0]).frame(0)
    assert frame.shape == (64, 96)


def test_video_written_and_read_back(tmp_path, video):
    from devocore.io import open_frames

    path = worm.write_video(video, tmp_path / "w.mp4")
    source = open_frames(path)
    back = [np.asarray(f) for f in source]
    assert len(back) == len(video)
    grey = back[3] if back[3].ndim == 2 else cv2.cvtColor(back[3], cv2.COLOR_BGR2GRAY)
    assert np.abs(grey.astype(float) - video.frame(3)).mean() < 6


def test_cli_writes_video_and_truth(tmp_path, capsys):
    out = tmp_path / "sim"
    code = cli.main(["simulate", "worm", "--frames", "12", "--worms", "2", "--seed", "3", "--out", str(out),
                     "--size", "160x120"])
    assert code == 0
    truth = pd.read_csv(out / "truth.csv")
    assert len(truth) == 24 and {"head_x", "in_view", "touching", "mid_y_48"} <= set(truth.columns)
    capture = cv2.VideoCapture(str(out / "worms.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    capture.release()
    again = tmp_path / "again"
    cli.main(["simulate", "worm", "--frames", "12", "--worms", "2", "--seed", "3", "--out", str(again),
              "--size", "160x120"])
    for name in ("worms.mp4", "truth.csv"):
        assert (out / name).read_bytes() == (again / name).read_bytes()
    assert cli.main(["simulate", "worm", "--frames", "5", "--worms", "0", "--out", str(out)]) == 2
    assert "error:" in capsys.readouterr().err


def test_examples_are_small(tmp_path):
    files = worm.write_examples(tmp_path)
    assert sum(p.stat().st_size for p in files.values()) < 3e6
    series = pd.read_csv(files["series"])
    assert list(series.columns[:1]) == ["time_s"] and len(series) == 2000


def test_labels_cover_the_bodies_and_match_the_picture(video):
    labels = video.labels(10)
    frame = video.frame(10).astype(float)
    assert set(np.unique(labels)) == {0, 1, 2}
    for w in (0, 1):
        area = (labels == w + 1).sum()
        length, width = video.tracks.lengths[w], video.tracks.widths[w]
        # the tapered body covers somewhat less than a length x width rectangle
        assert 0.5 * length * width < area < 1.0 * length * width
    assert frame[labels > 0].mean() < frame[labels == 0].mean() - 30


def test_preview_draws_the_truth(tmp_path):
    out = tmp_path / "p"
    assert cli.main(["simulate", "worm", "--frames", "4", "--seed", "1", "--size", "200x160", "--length", "60",
                     "--out", str(out), "--preview"]) == 0
    preview = cv2.imread(str(out / "preview.jpg"))
    truth = pd.read_csv(out / "truth.csv")
    head = truth[truth.frame == 2].iloc[0]
    b, g, r = preview[int(round(head.head_y)), int(round(head.head_x))].astype(int)
    assert r > 150 and r > b + 60  # the head is marked red


def test_measure_reads_back_the_simulated_look():
    from devocore.simulate import worm_compare

    figures = worm_compare.measure(worm_compare.simulated_samples(seed=2, n_frames=12, every=4))
    look = worm.WormAppearance()
    assert abs(figures["plate_grey"] - look.background) < 15
    assert 0.25 < figures["contrast"] < look.contrast
    assert abs(figures["noise_sd"] - look.noise_sd) < 1.0
    assert 8.5 < figures["length_over_width"] < 12.5


def test_bench_command_reports_figures(capsys):
    assert cli.main(["bench", "simulate-worm", "--frames", "2", "--json"]) == 0
    import json

    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["render_ms_256x256_1worm"] > 0 and "behaviour_series_s_2000_steps" in figures


def test_head_is_lighter_than_mid_body_on_average(video):
    """Like real worms, the head is a little lighter (and blunter); a hint, not a rule, for trackers."""
    head, middle = [], []
    for index in range(0, 40, 4):
        frame = video.frame(index).astype(float)
        for _, row in video.truth[(video.truth.frame == index) & video.truth.in_view].iterrows():
            sample = lambda i: frame[int(round(row[f"mid_y_{i:02d}"])), int(round(row[f"mid_x_{i:02d}"]))]  # noqa: E731
            head.append(np.mean([sample(i) for i in (1, 2, 3)]))
            middle.append(np.mean([sample(i) for i in (23, 24, 25)]))
    assert np.mean(head) > np.mean(middle) + 3


def test_curvature_series_has_a_travelling_wave_like_eigenworms():
    series = worm.curvature_series(seed=0, n_steps=1000, fps=100.0, n_segments=100)
    assert series.shape == (1000, 101) and series.columns[-1] == "segment_099"
    values = series.drop(columns="time_s").to_numpy()
    assert np.isfinite(values).all()
    centred = values - values.mean(axis=0)
    variance = np.linalg.svd(centred, compute_uv=False) ** 2
    # a travelling sine wave is two shapes (sine and cosine) mixing: two components carry most of it
    assert variance[:2].sum() / variance.sum() > 0.6

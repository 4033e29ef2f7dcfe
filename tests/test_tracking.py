"""Worm tracking engine on drawn worms with known answers."""
import dataclasses
import itertools
import json

import cv2
import numpy as np
import pandas as pd
import pytest

from devocore import io, tracking
from devocore.config import EXAMPLES_DIR
from devocore.errors import DevocoreError
from devocore.tracking import synthetic
from devocore.tracking.evaluate import compare_skeletons, compare_truth, midline_distance
from devocore.tracking import headtail
from devocore.tracking.headtail import orient
from devocore.tracking.segment import Background, background_from_frames, find_blobs, frame_contrast
from devocore.tracking.tracker import Tracker, _Obs, _Track, curvature_profile


def single_worm_image(points, width=8.0, size=(120, 160), noise=2.0, seed=0):
    rng = np.random.default_rng(seed)
    canvas = np.full(size, 200.0, np.float32)
    synthetic.draw_worm(canvas, points, width, 60.0)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.7) + rng.normal(0, noise, size)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def write_clip(frames, path, fps=10.0):
    """Gray uint8 frames as an MJPG AVI (readable by every OpenCV build)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (frames[0].shape[1], frames[0].shape[0]))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def midline_of(image, **kwargs):
    contrast, sigma = frame_contrast(image, None)
    blobs = find_blobs(contrast, sigma)
    assert len(blobs) == 1
    return tracking.extract_midline(blobs[0], **kwargs)


def head_first(midline, head_xy):
    d0 = np.hypot(*(midline.points[0] - head_xy))
    d1 = np.hypot(*(midline.points[-1] - head_xy))
    return midline if d0 <= d1 else midline.flipped()


def test_straight_worm_midline_has_its_length_and_lies_on_the_axis():
    points = np.column_stack([np.linspace(40, 110, 30), np.full(30, 60.0)])  # 70 px long
    m = midline_of(single_worm_image(points))
    assert not m.coiled
    assert abs(m.length - 70.0) < 3.0
    assert np.all(np.abs(m.points[:, 1] - 60.0) < 1.0)
    assert abs(np.median(m.widths) - 8.0) < 1.5


def arc(radius=30.0, turn=np.pi * 0.8, n=40, left=True):
    """A worm bending along a circle; head at (30, 90) heading right, turning left (up on screen) or right."""
    theta = np.linspace(0, turn, n)
    sign = -1.0 if left else 1.0
    return np.column_stack([30 + radius * np.sin(theta), 90 + sign * radius * (1 - np.cos(theta))])


@pytest.mark.parametrize("left", [True, False])
def test_curved_worm_curvature_sign(left):
    points = arc(left=left) + ([0, -20] if not left else [0, 0])
    m = head_first(midline_of(single_worm_image(points, size=(140, 160))), points[0])
    profile = curvature_profile(m.points)
    assert (np.mean(profile) > 5) if left else (np.mean(profile) < -5)
    # a circle of radius 30 bends 0.8 pi over its length: 9 joints of ~14 degrees each
    assert 8 < np.mean(np.abs(profile)) < 22


def test_coiled_worm_is_reported_coiled_without_midline():
    theta = np.linspace(0, 2.5 * np.pi, 90)
    radius = 15 + 0.8 * theta  # a loop whose end lies over its start, enclosing the plate
    points = np.column_stack([80 + radius * np.cos(theta), 60 + radius * np.sin(theta)])
    m = midline_of(single_worm_image(points, width=9.0))
    assert m.coiled and m.points is None
    assert m.reason in ("loop", "branch", "thick", "short")


def test_worm_folded_shorter_than_its_usual_length_is_coiled():
    points = np.column_stack([np.linspace(40, 80, 20), np.full(20, 60.0)])
    assert midline_of(single_worm_image(points), ref_length=80.0).reason == "short"


def test_background_drops_a_slow_worm_also_where_it_never_moved():
    rng = np.random.default_rng(3)
    frames = []
    for i in range(7):
        frame = rng.normal(200.0, 1.0, (120, 160))
        frame[60:66, 20:70] = 60.0  # the part of the worm that lay still in every sample
        if i not in (2, 5):  # the head, there in most samples, swung away twice
            frame[60:66, 70:90] = 60.0
        frame[20:24, 120:124] = 60.0  # a speck of dirt, never moving
        frames.append(frame)
    image = background_from_frames(frames).image
    assert abs(float(np.median(image[60:66, 70:90])) - 200.0) < 5.0  # seen moving: a ghost
    assert abs(float(np.median(image[60:66, 20:70])) - 200.0) < 5.0  # joined to it: the same worm
    assert float(image[22, 122]) < 100.0  # dirt stays in the background


def test_slit_with_body_contrast_is_closed_and_a_gap_of_plate_is_not():
    mask = np.zeros((24, 60), bool)
    mask[4:20, 4:56] = True
    mask[11:13, 4:20] = False  # a slit open at the left end: a pale core, still darker than the plate
    mask[11:13, 40:56] = False  # one open at the right end: plate between two body parts
    mask[11:13, 28:31] = False  # a small enclosed hole
    contrast = np.where(mask, 40.0, 0.0).astype(np.float32)
    contrast[11:13, 4:20] = 16.0  # under the threshold (half the body), well above the plate
    contrast[11:13, 40:56] = 5.0  # the plate, lit by the blurred edges: above the noise, far below the body
    closed = tracking.midline.close_slits(mask, contrast, sigma=2.0)
    assert closed[11:13, 5:20].all()
    assert not closed[11:13, 41:56].any()
    assert closed[11:13, 28:31].all()
    assert tracking.midline.close_slits(mask)[11:13, 41:56].all()  # without contrast: geometry only


def test_hairpin_whose_arms_meet_only_through_blurred_edges_gets_its_midline():
    contrast = np.zeros((40, 90), np.float32)
    contrast[8:16, 5:75] = contrast[19:27, 5:75] = 40.0  # two 8 px arms, a 3 px gap of plate between
    contrast[8:27, 5:13] = 40.0  # the bend joining them
    contrast[16:19, 66:70] = 25.0  # where the arms meet through their blurred edges
    blob = find_blobs(contrast, 1.0, threshold=20.0)[0]
    assert tracking.extract_midline(blob, ref_width=8.0).reason == "thick"  # usual length unknown: no retry
    m = tracking.extract_midline(blob, ref_length=143.0, ref_width=8.0)
    assert not m.coiled and m.length == pytest.approx(143.0, rel=0.1)
    ends = sorted([tuple(m.points[0]), tuple(m.points[-1])], key=lambda p: p[1])
    assert np.allclose(ends, [(74, 11.5), (74, 22.5)], atol=1.5)  # each arm's free end
    assert m.points[24, 0] < 15  # the middle of the body lies in the bend


def test_tail_folded_along_the_body_is_parted_at_the_seam_between_them():
    contrast = np.zeros((40, 90), np.float32)
    contrast[8:16, 5:75] = contrast[17:25, 5:75] = 40.0  # two 8 px arms lying side by side
    contrast[8:25, 5:13] = 40.0  # the bend joining them
    contrast[16, 13:75] = 28.0  # the seam: dimmer, but smoothed above the core level (0.75 x 40)
    blob = find_blobs(contrast, 1.0, threshold=20.0)[0]
    assert tracking.midline._midline_of(blob, 49, 141.0, 8.0).reason == "thick"  # as found
    core = tracking.midline.core_mask(blob)
    assert tracking.midline._midline_of(dataclasses.replace(blob, mask=core), 49, 141.0, 8.0).coiled  # no core gap
    m = tracking.extract_midline(blob, ref_length=141.0, ref_width=8.0)
    assert not m.coiled and m.length == pytest.approx(141.0, rel=0.1)
    ends = sorted([tuple(m.points[0]), tuple(m.points[-1])], key=lambda p: p[1])
    assert np.allclose(ends, [(74, 11.5), (74, 20.5)], atol=1.5)  # each arm's free end


def test_ring_closed_by_a_seam_is_opened_there_and_a_fused_ring_stays_coiled():
    contrast = np.zeros((40, 90), np.float32)
    contrast[26:34, 5:79] = contrast[4:34, 71:79] = contrast[4:12, 31:79] = 40.0  # body: along, up, back
    contrast[4:25, 31:39] = 40.0  # the tail coming down onto the body, enclosing plate
    contrast[25, 31:39] = 28.0  # a seam between tail and body
    blob = find_blobs(contrast, 1.0, threshold=20.0)[0]
    assert tracking.midline._midline_of(blob, 49, 145.0, 8.0).reason == "loop"  # as found
    m = tracking.extract_midline(blob, ref_length=145.0, ref_width=8.0)
    assert not m.coiled and m.length == pytest.approx(145.0, rel=0.1)
    ends = sorted([tuple(m.points[0]), tuple(m.points[-1])])
    assert np.allclose(ends, [(5, 30), (35, 24)], atol=1.5)  # the free end of the body, and the tail's tip
    contrast[25, 31:39] = 40.0  # tail fused with the body: no seam
    assert tracking.extract_midline(find_blobs(contrast, 1.0, threshold=20.0)[0], ref_length=145.0,
                                    ref_width=8.0).reason == "loop"


def test_c_shaped_worm_whose_ends_face_each_other_across_a_gap_ends_at_its_own_tips():
    theta = np.linspace(0.35, 2 * np.pi - 0.35, 80)  # a ring open by 0.7 rad: the ends 9 px apart, facing
    points = np.column_stack([80 + 13 * np.cos(theta), 60 + 13 * np.sin(theta)])
    true_length = 13 * (2 * np.pi - 0.7)  # 72.6 px
    m = midline_of(single_worm_image(points, width=6.0))
    assert not m.coiled
    assert abs(m.length - true_length) < 4.0
    # each end lies at its own tip, not across the gap at the other one
    for end in (m.points[0], m.points[-1]):
        assert min(np.hypot(*(end - points[0])), np.hypot(*(end - points[-1]))) < 3.0
    assert np.hypot(*(m.points[0] - m.points[-1])) > 6.0


def test_head_is_the_leading_end_when_the_worm_crawls_forward():
    frames, truth = synthetic.clip(n_frames=40, n_worms=1, seed=3, speed=3.0)
    result = tracking.track_frames(frames, tracking.TrackConfig(fps=10))
    figures = compare_truth(result.table, truth)
    assert figures["swap_rate"] == 0.0
    assert figures["median_head_error_px"] < 3.0
    assert figures["recall"] > 0.9
    ok = result.table[result.table["status"] == "ok"]
    assert (ok["direction"] == "forward").mean() > 0.9
    assert ok["speed_px_s"].median() == pytest.approx(30.0, rel=0.25)  # 3 px per frame at 10 fps


def test_orientation_flips_a_run_listed_tail_first():
    frames, truth = synthetic.clip(n_frames=30, n_worms=1, seed=4, speed=3.0)
    result = tracking.track_frames(frames, tracking.TrackConfig(fps=10))
    table = result.table[result.table["status"] == "ok"]
    # the same midlines given tail first must come back head first
    xs = [f"mid_x_{i:02d}" for i in range(49)]
    ys = [f"mid_y_{i:02d}" for i in range(49)]
    mids = [tracking.Midline(np.column_stack([r[xs].to_numpy(float), r[ys].to_numpy(float)])[::-1],
                             np.ones(49), 1.0) for _, r in table.iterrows()]
    cents = table[["centroid_x", "centroid_y"]].to_numpy(float)
    out = orient(mids, cents)
    assert np.allclose(out.midlines[0].points[0], table[["head_x", "head_y"]].to_numpy(float)[0])
    assert out.confidence.min() > 0.3


def sweeping_run(n_frames: int, forward: int) -> np.ndarray:
    """T x 49 x 2 midlines (points[0] the head) of a straight worm 96 px long.

    For ``forward`` frames it crawls towards points[0] sweeping the head fast (period about 9 frames);
    then it reverses at the same speed, the head still, the leading tail bending slowly
    (period about 50 frames, as the body wave) by 9 px at the tip.
    """
    x = np.linspace(0.0, 96.0, 49)
    t = np.arange(n_frames)
    shift = np.where(t < forward, -t, t - 2 * forward).astype(float)
    head = np.where(t < forward, 3.0, 0.0)[:, None] * np.clip(1 - x / 16, 0, 1) * np.sin(t / 1.5)[:, None]
    tail = np.where(t < forward, 0.0, 9.0)[:, None] * np.clip((x - 80) / 16, 0, 1) * np.sin(t / 8.0)[:, None]
    return np.stack([x[None, :] + shift[:, None], 50 + head + tail], axis=2)


def test_head_sweep_orients_a_run_that_reverses_longer_than_it_crawls_forward():
    pts = sweeping_run(100, forward=30)
    mids = [tracking.Midline(p, np.ones(49), 96.0) for p in pts]
    cents = pts.mean(axis=1)
    assert headtail.votes(mids, cents)["motion"] < -0.3  # motion alone names the wrong end
    ends = np.unwrap([headtail._angles(p, 8) for p in pts], axis=0)
    turned = np.abs(np.diff(ends, axis=0)).sum(axis=0)
    assert turned[1] > turned[0]  # the slowly bending tail turns further in all than the sweeping head
    assert headtail.swing_vote(pts) > 0.1  # read against its moving average, the fast head sweep wins
    out = orient(mids, cents)
    assert np.allclose(out.midlines[0].points[0], pts[0, 0])


def test_a_long_run_that_mostly_reverses_is_oriented_by_the_head_sweep_alone():
    pts = sweeping_run(200, forward=40)  # 8 s: 1.6 s forward, then 6.4 s reversing
    pts[40:, :, 1] = 50 + (pts[40:, :, 1] - 50) / 1.3  # the leading tail bends a little less
    mids = [tracking.Midline(p, np.ones(49), 96.0) for p in pts]
    cents = pts.mean(axis=1)
    v = headtail.votes(mids, cents)
    assert 0 < v["swing"] < 0.2 and v["motion"] < -0.5
    weights = headtail.WEIGHTS
    assert sum(weights[k] * x for k, x in v.items()) < 0  # the weighted vote would name the tail
    out = orient(mids, cents)
    assert np.allclose(out.midlines[0].points[0], pts[0, 0])


def test_head_sweep_is_read_without_midlines_cut_short():
    pts = sweeping_run(60, forward=60)
    broken = [0, 1, 2, 3, 30, 31]  # the tail end cut short and bent aside, as where a body still touches itself
    cut = pts.copy()
    cut[broken, 40:] = cut[broken, 40:41] + np.column_stack([np.zeros(9), np.arange(9.0)])
    lengths = np.where(np.isin(np.arange(60), broken), 80.0, 96.0)
    mids = [tracking.Midline(p, np.ones(49), length) for p, length in zip(cut, lengths)]
    assert headtail.swing_vote(cut) < 0  # the broken frames fake a tail sweep
    assert headtail.whole_frames(mids).sum() == 54
    assert headtail.votes(mids, None)["swing"] == pytest.approx(headtail.swing_vote(pts[headtail.whole_frames(mids)]))
    assert headtail.votes(mids, None)["swing"] > 0.5


def test_a_midline_that_ran_on_past_the_head_into_the_body_is_cut_back_at_the_head():
    x = np.linspace(0.0, 96.0, 49)
    mids = []
    for t in range(8):  # a straight worm 96 px long crawling 1 px a frame, head at (-t, 0)
        pts = np.column_stack([x - t, np.zeros(49)])
        if t in (0, 3, 4):  # the skeleton ran on past the head, 8 px aside and back along the body for 24 px
            pts = tracking.midline.resample(np.vstack([[[24.0 - t, 8.0], [-t, 8.0]], pts]), 49)
        length = float(tracking.midline.arc_length(pts)[-1])
        mids.append(tracking.Midline(pts if t % 2 else pts[::-1].copy(), np.ones(49), length))
    out = headtail.trim_overlong(mids, usual=96.0)
    for t in range(8):
        ends = out[t].points[[0, -1]] if t % 2 else out[t].points[[-1, 0]]  # head first
        assert np.allclose(ends, [[-t, 0.0], [96.0 - t, 0.0]], atol=1.5), t
        assert out[t].length == pytest.approx(96.0, abs=1.0)
    assert mids[3].length > 1.2 * 96.0  # the input list is left as it was


def test_identity_is_kept_through_a_crossing_and_the_touch_is_flagged():
    # worm 1 crawls right along y = 130, worm 2 down along x = 150; the heads meet near frame 30
    frames, truth = synthetic.clip(n_frames=70, n_worms=2, size=(260, 300), speed=3.0, length=50.0,
                                   starts=[(10.0, 130.0), (150.0, -10.0)], headings=[0.0, np.pi / 2])
    result = tracking.track_frames(frames, tracking.TrackConfig(fps=10))
    figures = compare_truth(result.table, truth, gate=25.0)
    assert figures["id_switches"] == 0
    assert result.table["worm"].nunique() == 2
    crossing = result.table[result.table["frame"].between(28, 40)]
    assert (crossing["status"] != "ok").any()  # the merged blob is not measured as one worm
    overlapping = result.table[result.table["frame"].between(32, 45)]  # the true bodies overlap
    assert (overlapping["status"] == "touching").all()  # never parted and measured
    late = result.table[result.table["frame"] >= 60]
    assert (late["status"] == "ok").mean() > 0.8


def side_by_side_clip(n_frames=40, gap=2.0, width=7.0, length=60.0, blur=1.2):
    """Two straight worms crawling right in parallel, closing in until ``gap`` px of plate lies between them."""
    rng = np.random.default_rng(0)
    frames, midlines = [], []
    for t in range(n_frames):
        canvas = np.full((120, 300), 200.0, np.float32)
        pair = []
        for y in (50.0, 50.0 + width + max(gap, 24.0 - 3.0 * t)):
            points = np.column_stack([np.linspace(70.0 + 4 * t, 10.0 + 4 * t, 49), np.full(49, y)])
            synthetic.draw_worm(canvas, points, width, 70.0)
            pair.append(points)
        canvas = cv2.GaussianBlur(canvas, (0, 0), blur) + rng.normal(0, 2.0, canvas.shape)
        frames.append(np.clip(canvas, 0, 255).astype(np.uint8))
        midlines.append(pair)
    return frames, midlines


def test_two_worms_lying_2px_apart_side_by_side_are_both_measured():
    frames, midlines = side_by_side_clip()
    contrast, sigma = frame_contrast(frames[-1], None)
    assert len(find_blobs(contrast, sigma)) == 1  # their blurred edges merge at the threshold
    result = tracking.track_frames(frames, tracking.TrackConfig(fps=10))
    table = result.table
    assert sorted(table["worm"].unique().tolist()) == [1, 2]
    assert (table["status"] == "ok").all()
    xs, ys = [f"mid_x_{i:02d}" for i in range(49)], [f"mid_y_{i:02d}" for i in range(49)]
    for frame in range(8, 40):  # 2 px apart
        for row in table[table["frame"] == frame].itertuples():
            ours = np.column_stack([table.loc[row.Index, xs].to_numpy(float), table.loc[row.Index, ys].to_numpy(float)])
            assert min(midline_distance(ours, true)[0] for true in midlines[frame]) < 1.0
        ys_now = sorted(table.loc[table["frame"] == frame, "centroid_y"])
        assert ys_now == pytest.approx([50.0, 59.0], abs=1.0)  # one worm each, not both the same


def test_a_bent_worm_whose_centroid_lies_off_its_body_is_seen_in_a_merged_blob():
    contrast = np.zeros((120, 160), np.float32)
    cv2.ellipse(contrast, (60, 60), (25, 25), 0, -90, 90, 50.0, thickness=7)  # a C open to the left
    cv2.line(contrast, (92, 20), (92, 100), 50.0, thickness=7)  # a straight worm against its back
    blobs = find_blobs(contrast, 1.0, threshold=25.0)
    assert len(blobs) == 1
    arc = np.radians(np.linspace(-90, 90, 49))
    c_worm = np.column_stack([60 + 25 * np.cos(arc), 60 + 25 * np.sin(arc)])
    straight = np.column_stack([np.full(49, 92.0), np.linspace(20, 100, 49)])
    tracker = Tracker()
    tracker.frame = 5
    for ident, points in ((1, c_worm), (2, straight)):
        centroid = points.mean(axis=0)
        track = _Track(ident, obs=[_Obs(4, "ok", tuple(centroid))], areas=[450] * 3,
                       pose=points[::4] - centroid)
        tracker.active.append(track)
    c_centroid = c_worm.mean(axis=0)
    assert not blobs[0].mask[int(c_centroid[1]) - blobs[0].y0, int(c_centroid[0]) - blobs[0].x0]  # off the body
    assert tracker._touching(blobs) == {1: 0, 2: 0}  # both worms are in the merged blob, its midline tells


def test_a_worm_parting_from_a_touch_moves_on_from_where_it_was_last_measured():
    coasted = [_Obs(frame, "touching", (50.0 + 9 * frame, 40.0)) for frame in (2, 3)]  # predictions, not seen
    track = _Track(1, obs=[_Obs(0, "ok", (10.0, 40.0)), _Obs(1, "ok", (12.0, 40.0)), *coasted])
    assert track.last_measured().centroid == (12.0, 40.0)


def test_light_worms_on_a_dark_plate_are_found():
    frames, truth = synthetic.clip(n_frames=40, n_worms=1, seed=5, speed=3.0, plate=40.0, worm_value=170.0)
    result = tracking.track_frames(frames, tracking.TrackConfig(fps=10))
    assert compare_truth(result.table, truth)["median_head_error_px"] < 3.0


def test_crops_of_varying_size_are_tracked_one_worm_per_frame(tmp_path):
    frames, truth = synthetic.clip(n_frames=12, n_worms=1, seed=6, speed=3.0)
    for i, (frame, (_, row)) in enumerate(zip(frames, truth.iterrows())):
        x0, y0 = int(row.centroid_x) - 45 - i % 3, int(row.centroid_y) - 35
        cv2.imwrite(str(tmp_path / f"f{i}.png"), frame[y0:y0 + 70 + i % 2, x0:x0 + 90 + i % 4])
    result = tracking.track(tmp_path)
    assert result.crops
    assert (result.table["status"] == "ok").sum() >= 11
    assert result.table["worm"].nunique() == 1


def test_mm_columns_follow_the_scale():
    frames, _ = synthetic.clip(n_frames=30, n_worms=1, seed=7, speed=3.0)
    table = tracking.track_frames(frames, tracking.TrackConfig(fps=10, px_per_mm=100.0)).table
    assert np.allclose(table["length_mm"], table["length_px"] / 100.0, equal_nan=True)
    assert np.allclose(table["speed_mm_s"], table["speed_px_s"] / 100.0, equal_nan=True)


def test_compare_skeletons_arithmetic_by_hand():
    ref = pd.DataFrame({"frame": [0] * 3 + [1] * 3 + [2] * 3, "point": [0, 1, 2] * 3,
                        "x": [0.0, 10, 20] * 2 + [np.nan] * 3, "y": [0.0] * 9})
    ours = pd.DataFrame({"frame": [0, 1, 2],
                         "mid_x_00": [0.0, 20.0, 5.0], "mid_x_01": [20.0, 0.0, 6.0],
                         "mid_y_00": [1.0, 3.0, 0.0], "mid_y_01": [1.0, 3.0, 0.0]})
    r = compare_skeletons(ours, ref)
    assert r["coverage"] == 1.0 and r["compared_frames"] == 2
    assert r["median_midline_distance_px"] == pytest.approx(2.0)  # frames: 1 px and 3 px off
    assert r["head_agreement"] == 0.5  # frame 1 is listed tail first
    assert midline_distance(np.array([[0.0, 0.0], [20.0, 0.0]]), np.array([[20.0, 0.0], [10, 0], [0, 0]])) == (0.0, False)
    assert compare_skeletons(ours[ours.frame == 0], ref)["coverage"] == 0.5


def test_compare_truth_counts_switches_swaps_and_recall():
    truth = pd.DataFrame({"frame": [0, 0, 1, 1, 2, 2], "worm": [1, 2] * 3,
                          "head_x": [10.0, 110, 12, 112, 14, 114], "head_y": [0.0] * 6,
                          "tail_x": [0.0, 100, 2, 102, 4, 104], "tail_y": [0.0] * 6,
                          "centroid_x": [5.0, 105, 7, 107, 9, 109], "centroid_y": [0.0] * 6,
                          "in_view": [True] * 6, "touching": [False] * 5 + [True]})
    ours = truth.copy()
    ours["worm"] = [7, 8, 8, 7, 8, 7]  # identities exchanged at frame 1
    ours.loc[2, ["head_x", "tail_x"]] = [2.0, 12.0]  # worm 1 at frame 1 listed tail first
    ours.loc[4, "head_x"] = np.nan  # no midline at frame 2 for worm 1
    r = compare_truth(ours, truth, gate=20)
    assert r["id_switches"] == 2
    assert r["scored_rows"] == 5
    assert r["recall"] == pytest.approx(4 / 5)
    assert r["swap_rate"] == pytest.approx(1 / 4)
    assert r["median_head_error_px"] == pytest.approx(0.0)


def test_track_command_writes_csv_and_refuses_bad_input(tmp_path, capsys):
    from devocore.cli import main

    frames, _ = synthetic.clip(n_frames=20, n_worms=1, seed=8, speed=3.0)
    video = write_clip(frames, tmp_path / "clip.avi")
    out = tmp_path / "track.csv"
    assert main(["track", str(video), "--out", str(out), "--json", "--overlay", str(tmp_path / "o.mp4")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["worms"] == 1 and summary["warning"] is None
    table = pd.read_csv(out)
    assert {"head_x", "tail_x", "length_px", "curvature_deg", "speed_px_s", "direction", "mid_x_00"} <= set(table)
    assert (tmp_path / "o.mp4").stat().st_size > 0
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    assert main(["track", str(bad), "--out", str(out)]) == 2
    assert "error:" in capsys.readouterr().err


def round_blob_frames(n_frames=12, size=(160, 200), seed=0):
    """Eight bright oval blobs (10 x 14 px, like nuclei in an embryo movie) drifting on a dark background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size[0], :size[1]]
    centres = rng.uniform([20, 20], [size[0] - 20, size[1] - 20], (8, 2))
    frames = []
    for t in range(n_frames):
        image = rng.normal(20, 3, size)
        for cy, cx in centres + t * np.array([0.5, 0.8]):
            image += 150 * (((yy - cy) / 7) ** 2 + ((xx - cx) / 5) ** 2 < 1)
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
    return frames


def test_round_objects_followed_as_worms_get_a_warning_and_worms_none(tmp_path, capsys):
    # audit: `track` on a fluorescence movie of an embryo followed 893 "worms" (its nuclei) without a word
    from devocore.cli import main

    blobs = tracking.track_frames(round_blob_frames(), tracking.TrackConfig(fps=10))
    assert (blobs.table["status"] == "ok").sum() > 20  # the blobs were measured as if they were worms
    assert blobs.unfit.startswith("The objects followed are not worm-shaped: their midlines are a median 1.")
    worms = tracking.track_frames(synthetic.clip(n_frames=20, n_worms=2, seed=8, speed=3.0)[0],
                                  tracking.TrackConfig(fps=10))
    assert (worms.table["status"] == "ok").sum() > 20 and worms.unfit is None

    folder = write_folder(round_blob_frames(), tmp_path / "embryo", [f"{i:03d}.png" for i in range(12)])
    assert main(["track", str(folder), "--out", str(tmp_path / "t.csv")]) == 0
    assert "warning: The objects followed are not worm-shaped" in capsys.readouterr().out
    assert main(["track", str(folder), "--out", str(tmp_path / "t.csv"), "--json"]) == 0
    assert "not worm-shaped" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["warning"]


def test_eval_tracking_command_on_a_video_with_truth(tmp_path, capsys):
    from devocore.cli import main

    frames, truth = synthetic.clip(n_frames=25, n_worms=2, seed=9, speed=3.0)
    video = write_clip(frames, tmp_path / "clip.avi")
    truth.to_csv(tmp_path / "truth.csv", index=False)
    assert main(["eval", "tracking", "--video", str(video), "--truth", str(tmp_path / "truth.csv"), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("median_head_error_px", "p95_head_error_px", "swap_rate", "recall", "id_switches", "fps"):
        assert key in figures
    assert figures["recall"] > 0.8
    assert main(["eval", "tracking"]) == 2


def test_no_frames_is_a_clear_error():
    with pytest.raises(DevocoreError):
        tracking.track_frames([], tracking.TrackConfig(fps=10))


# ----------------------------------------------------------------------------- frame numbers from file names

def write_folder(frames, folder, names):
    folder.mkdir()
    for frame, name in zip(frames, names):
        cv2.imwrite(str(folder / name), frame)
    return folder


def skeletons_of(truth, shift=0):
    """Reference skeletons (head, centre, tail) from simulator truth, frame numbers shifted by ``shift``."""
    rows = []
    for _, r in truth.iterrows():
        mid = ((r.head_x + r.tail_x) / 2, (r.head_y + r.tail_y) / 2)
        for point, (x, y) in enumerate([(r.head_x, r.head_y), mid, (r.tail_x, r.tail_y)]):
            rows.append({"frame": int(r.frame) + shift, "point": point, "x": x, "y": y})
    return pd.DataFrame(rows)


def test_numbers_from_names_rise_or_fall_back_to_positions():
    from devocore.io import numbers_from_names

    assert numbers_from_names(["00700.png", "00701.png", "00703.png"]) == [700, 701, 703]
    assert numbers_from_names(["worm2_t0009.png", "worm2_t0010.png"]) == [9, 10]
    assert numbers_from_names(["a.png", "b.png"]) is None
    assert numbers_from_names(["5.png", "5b.png"]) is None  # not rising
    assert numbers_from_names(["1.png", "20230101120000.png"]) is None  # a date, not a frame number
    # microscope software's names hold more numbers than the time point; the one that changes is the frame number
    # (before: the last run, a channel or z that never changes, so such a folder was numbered by position)
    assert numbers_from_names(["img_t0700_c1.tif", "img_t0701_c1.tif", "img_t0703_c1.tif"]) == [700, 701, 703]
    assert numbers_from_names([f"img_channel000_position000_time{t:09d}_z000.tif" for t in (700, 701)]) == [700, 701]
    assert numbers_from_names(["t1_z1.png", "t1_z2.png", "t2_z1.png"]) is None  # two change: slices, not frames


def test_a_folder_named_by_microscope_software_keeps_its_time_points_as_frame_numbers(tmp_path):
    frames, _ = synthetic.clip(n_frames=12, n_worms=1, seed=8, speed=3.0)
    folder = write_folder(frames, tmp_path / "mm", [f"MAX_C2-worm_t{i + 700:04d}_c2.png" for i in range(12)])
    result = tracking.track(folder, tracking.TrackConfig(fps=10))
    assert result.numbering == "file names" and result.frame_numbers.tolist() == list(range(700, 712))
    assert result.table["frame"].min() >= 700


def test_a_folder_numbered_from_700_keeps_its_numbers_everywhere(tmp_path, capsys):
    from devocore.cli import main

    frames, truth = synthetic.clip(n_frames=20, n_worms=1, seed=8, speed=3.0)
    plain = write_folder(frames, tmp_path / "plain", [f"{i:05d}.png" for i in range(20)])
    shifted = write_folder(frames, tmp_path / "shifted", [f"{i + 700:05d}.png" for i in range(20)])
    a = tracking.track(plain, tracking.TrackConfig(fps=10))
    b = tracking.track(shifted, tracking.TrackConfig(fps=10))
    assert b.numbering == "file names" and b.frame_numbers.tolist() == list(range(700, 720))
    assert b.table["frame"].tolist() == (a.table["frame"] + 700).tolist()
    assert np.allclose(b.table["time_s"], a.table["time_s"] + 70.0)
    cols = [c for c in a.table.columns if c not in ("frame", "time_s")]
    pd.testing.assert_frame_equal(a.table[cols], b.table[cols])
    # eval tracking matches skeletons numbered 700-719 with the same figures as 0-19 unshifted
    skeletons_of(truth).to_csv(tmp_path / "sk.csv", index=False)
    skeletons_of(truth, 700).to_csv(tmp_path / "sk700.csv", index=False)
    figures = []
    for folder, csv in ((plain, "sk.csv"), (shifted, "sk700.csv")):
        assert main(["eval", "tracking", "--frames", str(folder), "--skeletons", str(tmp_path / csv), "--json"]) == 0
        figures.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert figures[1]["coverage"] > 0.9 and figures[1]["frame_numbering"] == "file names"
    assert figures[1]["coverage"] == figures[0]["coverage"]
    assert figures[1]["median_midline_distance_px"] == figures[0]["median_midline_distance_px"]
    # the track CSV, the snapshot and the overlay use the same numbers
    out = tmp_path / "t.csv"
    assert main(["track", str(shifted), "--out", str(out), "--json", "--snapshot", str(tmp_path / "s.png"),
                 "--snapshot-frame", "705", "--overlay", str(tmp_path / "o.mp4")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["frame_numbers"] == "700-719" and summary["numbering"] == "file names"
    assert pd.read_csv(out)["frame"].min() >= 700
    assert (tmp_path / "s.png").stat().st_size > 0 and (tmp_path / "o.mp4").stat().st_size > 0


def test_a_gap_in_the_numbering_stays_a_gap_in_frames_and_time(tmp_path):
    from devocore.tracking.draw import read_frame

    frames, _ = synthetic.clip(n_frames=24, n_worms=1, seed=3, speed=3.0)
    keep = list(range(12)) + list(range(16, 24))  # frames 12-15 were never saved
    folder = write_folder([frames[i] for i in keep], tmp_path / "gap", [f"frame_{i:04d}.png" for i in keep])
    result = tracking.track(folder, tracking.TrackConfig(fps=10))
    assert result.n_frames == 20 and result.frame_numbers.tolist() == keep
    table = result.table
    assert set(table["frame"]) <= set(keep) and 16 in set(table["frame"])
    assert table.loc[table["frame"] == 16, "time_s"].iloc[0] == pytest.approx(1.6)
    ok = table[table["status"] == "ok"]
    assert ok["speed_px_s"].median() == pytest.approx(30.0, rel=0.25)  # 3 px per numbered frame at 10 fps
    assert np.array_equal(read_frame(folder, 16), cv2.imread(str(folder / "frame_0016.png"), cv2.IMREAD_UNCHANGED))
    with pytest.raises(DevocoreError, match="no frame 13"):
        read_frame(folder, 13)


def test_names_without_numbers_are_numbered_by_position(tmp_path):
    frames, _ = synthetic.clip(n_frames=12, n_worms=1, seed=3, speed=3.0)
    names = [f"shot_{chr(ord('a') + i)}.png" for i in range(12)]
    folder = write_folder(frames, tmp_path / "letters", names)
    result = tracking.track(folder, tracking.TrackConfig(fps=10))
    assert result.numbering == "position"
    assert result.frame_numbers.tolist() == list(range(12))
    assert result.table["frame"].min() >= 0 and result.table["frame"].max() <= 11


def test_a_worm_among_thousands_of_specks_is_found_and_only_the_largest_objects_are_followed(caplog):
    # issue #31: a frame of thousands of worm-sized specks (the memory benchmark's grid of dots) took minutes per
    # frame, every speck measured and matched with every other; now the MAX_BLOBS largest are followed
    frames, truth = synthetic.clip(n_frames=8, n_worms=1, size=(400, 600), speed=3.0, noise=0.0,
                                   starts=[(200.0, 200.0)], headings=[0.0])
    specks = np.zeros((400, 600), bool)
    for y in range(4, 396, 12):
        for x in range(4, 596, 12):
            if not (120 <= y <= 280 and 120 <= x <= 300):  # not on the worm's path
                specks[y:y + 6, x:x + 6] = True  # 36 px each: above the 30 px least worm area
    n_specks = int(specks.sum()) // 36
    assert n_specks > 5 * tracking.tracker.MAX_BLOBS
    for frame in frames:
        frame[specks] = 70
    plate = Background(image=np.full((400, 600), 200.0, np.float32), sigma=3.0, polarity=1)
    with caplog.at_level("WARNING", logger="devocore.tracking.tracker"):
        result = tracking.track_frames(frames, tracking.TrackConfig(fps=10), background=plate)
    assert f"holds {n_specks + 1} objects of worm size" in caplog.text
    assert "8 of 8 frames held more than 200 objects" in caplog.text
    table = result.table
    assert table["worm"].nunique() <= tracking.tracker.MAX_BLOBS
    worm = table[(table["centroid_x"] - truth["centroid_x"].iloc[0]).abs() < 40]["worm"].mode()[0]
    ours = table[table["worm"] == worm].sort_values("frame")
    assert ours["frame"].tolist() == list(range(8))  # found in every frame
    assert ours["centroid_x"].to_numpy() == pytest.approx(truth["centroid_x"].to_numpy(), abs=2.0)
    assert ours["centroid_y"].to_numpy() == pytest.approx(truth["centroid_y"].to_numpy(), abs=2.0)
    assert (ours["area_px"] > 5 * 36).all()


# ----------------------------------------------------------------------------- cloud profile: frames not all held
def _frames_folder(folder, n=40):
    frames, _ = synthetic.clip(n_frames=n, n_worms=2, seed=4, speed=3.0)
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"f{i:03d}.png"), np.asarray(frame))
    return folder, np.asarray(frames[0]).nbytes * n


def test_cloud_tracking_reads_frames_twice_instead_of_holding_them_with_the_same_table(tmp_path, monkeypatch):
    import tracemalloc

    folder, all_frames = _frames_folder(tmp_path / "frames", 100)
    peaks, tables = {}, {}
    for profile in ("local", "cloud"):
        if profile == "cloud":
            monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")
        else:
            monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
        tracemalloc.start()
        tables[profile] = tracking.track(folder, tracking.TrackConfig(fps=10)).table
        peaks[profile] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    pd.testing.assert_frame_equal(tables["cloud"], tables["local"])  # the same background, the same table
    assert tables["local"]["worm"].nunique() == 2
    assert peaks["local"] > all_frames  # locally every decoded frame is held while the first is tracked
    assert peaks["cloud"] < peaks["local"] - 0.6 * all_frames  # the cloud profile holds the background's share


# ----------------------------------------------------------------------------- bit depth: 8-bit, 16-bit, float
@pytest.fixture(scope="module")
def simulated_movie(tmp_path_factory):
    """40 frames (240 x 320, uint8) of 2 simulated worms, and their tracks from a folder of 8-bit PNGs."""
    from devocore.simulate.worm import simulate_video

    frames = list(simulate_video(seed=3, n_frames=40, n_worms=2, size=(240, 320)).frames())
    folder = write_folder(frames, tmp_path_factory.mktemp("movie") / "png8", [f"f{i:03d}.png" for i in range(40)])
    return frames, tracking.track(folder, tracking.TrackConfig(fps=10))


def deeper(frames, depth):
    """The 8-bit frames at another bit depth: 12-bit range in 16 bits (x16), the same with a camera offset,
    or float levels 0-1."""
    if depth == "float":
        return [f.astype(np.float32) / 255 for f in frames]
    offset = 1000 if depth == "16-bit + offset" else 0
    return [(f.astype(np.uint16) * 16 + offset) for f in frames]


def assert_same_tracks(ours, reference, tolerance=1.0):
    """The same worms in the same frames with the same status, and every midline point within ``tolerance`` px."""
    a, b = reference.table, ours.table
    assert b["worm"].nunique() == a["worm"].nunique() == 2
    assert b[["frame", "worm", "status"]].equals(a[["frame", "worm", "status"]])
    points = [c for c in a.columns if c.startswith(("mid_x_", "mid_y_"))] + ["head_x", "head_y", "tail_x", "tail_y"]
    assert a[points].notna().to_numpy().all() and b[points].notna().to_numpy().all()  # every row has a midline
    assert np.abs(b[points].to_numpy(float) - a[points].to_numpy(float)).max() < tolerance
    assert np.abs(b["length_px"] - a["length_px"]).max() < tolerance


@pytest.mark.parametrize("depth, reading", [("16-bit", "frames held"), ("16-bit + offset", "frames held"),
                                            ("float", "cloud: read twice"), ("16-bit + offset", "long: sampled")])
def test_16_bit_and_float_frames_give_the_tracks_of_their_8_bit_copy(simulated_movie, tmp_path, monkeypatch,
                                                                     depth, reading):
    # audit: 16-bit TIFFs of the example gave 7 worms, mostly "coiled" and "touching", where 8-bit PNGs gave 2
    # worms with every midline: a 5-pixel float median filter (OpenCV filters wider only 8-bit) left the slow
    # worms in the background; float frames 0-1 were clipped to 0 and 1 there
    import tifffile

    frames, reference = simulated_movie
    assert (reference.table["status"] == "ok").all() and len(reference.table) == 80
    folder = tmp_path / "tif"
    folder.mkdir()
    for i, frame in enumerate(deeper(frames, depth)):
        tifffile.imwrite(folder / f"f{i:03d}.tif", frame)
    if reading == "cloud: read twice":
        monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")
    else:
        monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
    if reading == "long: sampled":
        monkeypatch.setattr(tracking.tracker, "BUFFER_FRAMES", 20)  # too long to hold: the background is sampled
    result = tracking.track(folder, tracking.TrackConfig(fps=10))
    assert_same_tracks(result, reference)
    assert result.levels is not None  # one map for the movie, from samples across it


def test_a_16_bit_tiff_stack_and_the_track_command_give_the_tracks_of_the_8_bit_copy(simulated_movie, tmp_path,
                                                                                      capsys):
    import tifffile
    from devocore.cli import main

    frames, reference = simulated_movie
    stack = tmp_path / "movie16.tif"
    tifffile.imwrite(stack, np.stack(deeper(frames, "16-bit + offset")))
    result = tracking.track(stack, tracking.TrackConfig(fps=10))
    assert_same_tracks(result, reference)
    folder = tmp_path / "tif"
    folder.mkdir()
    for i, frame in enumerate(deeper(frames, "16-bit + offset")):
        tifffile.imwrite(folder / f"f{i:03d}.tif", frame)
    out = tmp_path / "track.csv"
    assert main(["track", str(folder), "--out", str(out), "--fps", "10", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["worms"] == 2 and summary["status"] == {"ok": 80}
    csv = pd.read_csv(out)
    assert np.abs(csv["head_x"] - reference.table["head_x"]).max() < 1.0


def test_a_hyperstack_is_refused_not_tracked_with_its_slices_as_time_points(tmp_path):
    import tifffile

    from devocore.errors import UnsupportedFormatError

    stack = tmp_path / "worms_tz.tif"
    tifffile.imwrite(stack, np.full((3, 4, 64, 64), 200, np.uint8), imagej=True, metadata={"axes": "TZYX"})
    with pytest.raises(UnsupportedFormatError, match="3 time points of 4 z-slices each.*Z Project"):
        tracking.track(stack, tracking.TrackConfig(fps=10))


def test_16_bit_frames_held_back_for_the_background_keep_their_two_bytes_a_pixel(simulated_movie):
    # before, the frames held back were float32 (4 bytes a pixel): 400 MB where the buffer was meant for 100 MB
    import tracemalloc

    frames, _ = simulated_movie
    movie = deeper(frames, "16-bit + offset") * 8  # 320 frames: the first 300 are held back
    held = tracking.tracker.BUFFER_FRAMES * frames[0].size  # pixels held back
    tracemalloc.start()
    try:
        result = tracking.track_frames((f.copy() for f in movie), tracking.TrackConfig(fps=10))  # read afresh
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.n_frames == 320 and result.table["worm"].nunique() == 2
    # 2 bytes a pixel held back, and the background's few mapped frames: 3.0 bytes a pixel at the peak (4.7 before)
    assert 2 * held < peak < 3.5 * held


def test_levels_map_a_whole_movie_with_one_offset_and_gain_and_leave_8_bit_alone():
    from devocore.tracking.segment import Levels

    assert Levels.of([np.full((8, 8), 200, np.uint8)]) is None
    dim, bright = np.full((8, 8), 1000, np.uint16), np.full((8, 8), 3000, np.uint16)
    levels = Levels.of([dim, bright])
    # the same map for every frame, not a stretch per frame: a flat dim frame stays dim
    assert levels(dim).max() == pytest.approx(0.0, abs=0.1) and levels(bright).min() == pytest.approx(255, abs=0.1)
    assert levels(dim).dtype == np.float32 and dim.max() == 1000  # the frame itself is left as it was


def test_the_result_says_when_the_frame_rate_is_a_guess(tmp_path):
    frames, _ = synthetic.clip(n_frames=12, n_worms=1, seed=3, speed=3.0)
    folder = write_folder(frames, tmp_path / "f", [f"{i:03d}.png" for i in range(12)])
    guessed = tracking.track(folder)
    assert guessed.fps_assumed and guessed.fps == tracking.tracker.DEFAULT_FPS == 25.0
    assert not tracking.track(folder, tracking.TrackConfig(fps=10)).fps_assumed
    assert not tracking.track(write_clip(frames, tmp_path / "clip.avi", fps=10.0)).fps_assumed  # the video's own


def test_the_track_command_says_when_the_frame_rate_is_a_guess(tmp_path, capsys):
    from devocore import cli

    frames, _ = synthetic.clip(n_frames=12, n_worms=1, seed=3, speed=3.0)
    folder = write_folder(frames, tmp_path / "f", [f"{i:03d}.png" for i in range(12)])
    assert cli.main(["track", str(folder), "--out", str(tmp_path / "t.csv")]) == 0
    assert "note: no frame rate in the files: 25 fps assumed" in capsys.readouterr().out
    assert cli.main(["track", str(folder), "--out", str(tmp_path / "t.csv"), "--fps", "10", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["fps"] == 10 and figures["fps_assumed"] is False


@pytest.mark.parametrize("n", [1, 2, 4])
def test_a_still_image_or_a_few_frames_give_the_worms_of_the_whole_movie(n):
    from devocore.simulate.worm import simulate_video

    frames = list(simulate_video(seed=3, n_frames=60, n_worms=2, size=(240, 320)).frames())
    whole = tracking.track_frames(frames, tracking.TrackConfig(fps=25)).table
    few = tracking.track_frames(frames[::15][:n], tracking.TrackConfig(fps=25)).table  # before: no worm under 5 frames
    assert few["worm"].nunique() == 2 and set(few["status"]) == {"ok"} and len(few) == 2 * n
    columns = ["centroid_x", "centroid_y", "length_px"]
    got = few[few["frame"] == 0].sort_values("centroid_x")[columns].to_numpy()
    want = whole[whole["frame"] == 0].sort_values("centroid_x")[columns].to_numpy()
    np.testing.assert_allclose(got, want, atol=0.5)


def test_the_overlay_of_a_16_bit_movie_keeps_its_frames_brightness_relative_to_each_other(tmp_path):
    import tifffile

    from devocore.tracking.draw import write_overlay
    from devocore.tracking.segment import Levels

    frames = [np.full((48, 64), value, np.uint16) for value in (1000, 2000, 3000)]
    folder = tmp_path / "f"
    folder.mkdir()
    for i, frame in enumerate(frames):
        tifffile.imwrite(folder / f"{i:03d}.tif", frame)
    table = pd.DataFrame({"frame": [], "worm": []})
    out = write_overlay(folder, table, tmp_path / "o.mp4", fps=5, levels=Levels.of(frames))
    capture, means = cv2.VideoCapture(str(out)), []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        means.append(float(image.mean()))
    # one map for the movie: dark, mid grey, white (a stretch per frame made every flat frame alike)
    assert len(means) == 3 and means[0] < 20 and 110 < means[1] < 145 and means[2] > 235, means


def test_a_time_stamp_drawn_into_the_frames_is_named_as_tracks_that_stay_in_place(tmp_path, capsys):
    # audit: a black time stamp burned into the bundled video gave 6 "worms" (its digits) and not a word
    import cv2

    from devocore.cli import main

    frames, _ = synthetic.clip(n_frames=40, n_worms=1, seed=3, speed=2.0)
    stamped = [cv2.putText(f.copy(), f"t={t:02d}s", (150, 185), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 0, 2)
               for t, f in enumerate(frames)]
    plain = tracking.track_frames(frames, tracking.TrackConfig(fps=10))
    assert plain.table["worm"].nunique() == 1 and plain.still is None
    result = tracking.track_frames(stamped, tracking.TrackConfig(fps=10))
    still = tracking.tracker.still_objects(result.table)
    moving = sorted(set(result.table["worm"]) - set(still))
    assert still and len(moving) == 1  # the digits are followed, each in place; the worm crawls
    assert result.table.loc[result.table["worm"].isin(still), "centroid_y"].between(165, 190).all()
    assert result.still.startswith(f"worm{'s' if len(still) > 1 else ''} {', '.join(map(str, still))} stay")

    folder = write_folder(stamped, tmp_path / "stamped", [f"{i:03d}.png" for i in range(40)])
    assert main(["track", str(folder), "--out", str(tmp_path / "t.csv"), "--fps", "10", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "in place while followed" in summary["still"] and summary["warning"] is None


def test_eval_tracking_refuses_skeletons_without_one_complete_frame_before_tracking(tmp_path, capsys, monkeypatch):
    # before: every figure came out NaN (JSON null) without a word, e.g. for the first 100 wormpose frames, all coiled
    from devocore.cli import main

    frames, _ = synthetic.clip(n_frames=5, n_worms=1, seed=0)
    folder = write_folder(frames, tmp_path / "frames", [f"{i:05d}.png" for i in range(5)])
    rows = [{"frame": f, "point": p, "x": None, "y": None} for f in range(5) for p in range(3)]
    pd.DataFrame(rows).to_csv(tmp_path / "empty.csv", index=False)
    monkeypatch.setattr(tracking, "track", lambda *a, **k: pytest.fail("tracked before the skeletons were checked"))
    assert main(["eval", "tracking", "--frames", str(folder), "--skeletons", str(tmp_path / "empty.csv")]) == 2
    assert capsys.readouterr().err.strip() == ("error: 'empty.csv' has no frame whose points all have x and y (its 5 "
                                               "frames have empty cells): there is no skeleton to compare with.")


def test_wide_worms_are_tracked_shrunk_and_reported_in_the_original_pixels(tmp_path):
    # audit: the bundled plate video upscaled 3x (1920 x 1440, worms about 44 px wide, as a high-magnification
    # camera gives them) gave 16 "worms", mostly coiled: the plate's median filter no longer erased the worms
    frames, _ = synthetic.clip(n_frames=40, n_worms=2, seed=3, speed=3.0)
    plain = tracking.track(write_folder(frames, tmp_path / "plain", [f"{i:03d}.png" for i in range(40)]),
                           tracking.TrackConfig(fps=10))
    big = [cv2.resize(f, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC) for f in frames]
    wide = tracking.track(write_folder(big, tmp_path / "wide", [f"{i:03d}.png" for i in range(40)]),
                          tracking.TrackConfig(fps=10))
    assert plain.scale == 1.0 and 0.3 < wide.scale < 0.6  # the synthetic worms are about 9 px wide, 35 px at 4x
    assert wide.shape == big[0].shape[:2]
    assert wide.table["worm"].nunique() == plain.table["worm"].nunique() == 2
    ok = wide.table["status"] == "ok"
    assert ok.mean() >= (plain.table["status"] == "ok").mean() - 0.05
    ratio = wide.table.loc[ok, "length_px"].median() / plain.table.loc[plain.table["status"] == "ok", "length_px"].median()
    assert 3.6 < ratio < 4.4  # lengths in the original (4x) pixels


def test_specks_far_smaller_than_the_worms_are_not_followed_as_worms():
    # the bundled plate video at twice its size, tracked as given: its specks (32-37 px, 0.8 % of a worm's area)
    # passed min_area (30 px) and were followed as 3 more worms
    with io.open_frames(EXAMPLES_DIR / "tracking" / "worms.mp4") as source:
        frames = [cv2.resize(f, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC) for f in itertools.islice(source, 60)]
    table = tracking.track_frames(frames, tracking.TrackConfig(fps=25)).table
    areas = table.groupby("worm")["area_px"].median()
    assert len(areas) == 2 and areas.min() > 3000


def test_thin_worms_are_tracked_enlarged_and_reported_in_the_original_pixels(tmp_path):
    # audit: the bundled plate video shrunk to 0.2x (160 x 96, worms about 4 px wide and 20 px long, as a wide-field
    # camera over a whole plate shows them) gave 23 of 300 rows "ok", the rest "coiled" or "touching"
    with io.open_frames(EXAMPLES_DIR / "tracking" / "worms.mp4") as source:
        frames = list(source)
    small = [cv2.resize(f, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA) for f in frames]
    as_given = tracking.track_frames(small, tracking.TrackConfig(fps=25))  # in memory: tracked at their own size
    result = tracking.track(write_folder(small, tmp_path / "thin", [f"{i:03d}.png" for i in range(len(small))]),
                            tracking.TrackConfig(fps=25))
    assert as_given.scale == 1.0 and 2.0 <= result.scale <= tracking.tracker.MAX_ENLARGE
    assert result.shape == small[0].shape[:2]
    assert (as_given.table["status"] == "ok").sum() < 60 < 200 < (result.table["status"] == "ok").sum()
    ok = result.table[result.table["status"] == "ok"]
    assert result.table["worm"].nunique() == 2 and 17 < ok["length_px"].median() < 23  # about 100 px at 1x
    assert ok[["centroid_x", "head_x", "tail_x"]].max().max() <= small[0].shape[1]


def test_an_empty_plate_is_not_enlarged_as_if_its_specks_were_thin_worms(tmp_path):
    rng = np.random.default_rng(0)
    plate = []
    for _ in range(12):  # no worm; dust specks 3 px across, somewhere else in every frame
        frame = rng.normal(180, 3, (96, 128))
        for _ in range(6):
            cv2.circle(frame, (int(rng.integers(5, 120)), int(rng.integers(5, 90))), 1, 60, -1)
        plate.append(frame.clip(0, 255).astype(np.uint8))
    assert tracking.segment.worm_width(plate) is None  # the specks measured 2.8 px: thin worms, enlarged 3x
    result = tracking.track(write_folder(plate, tmp_path / "empty", [f"{i:02d}.png" for i in range(12)]),
                            tracking.TrackConfig(fps=10))
    assert result.scale == 1.0 and result.table.empty


def test_a_folder_of_every_second_frame_keeps_heads_and_tails_the_right_way(tmp_path, capsys):
    # audit: the bundled video saved every 2nd, 3rd or 5th frame (0000, 0002, 0004, ... as a camera or an export
    # that keeps every k-th frame numbers them) had one of its two worms head-tail swapped in every frame (swap rate
    # 0.5, median head error 43 px): each step of k in the numbering counted as a gap and cut the runs to one frame
    with io.open_frames(EXAMPLES_DIR / "tracking" / "worms.mp4") as source:
        frames = list(source)
    folder = write_folder(frames[::2], tmp_path / "every2", [f"{i:04d}.png" for i in range(0, len(frames), 2)])
    result = tracking.track(folder, tracking.TrackConfig(fps=25))
    assert result.frame_numbers.tolist() == list(range(0, len(frames), 2))
    truth = pd.read_csv(EXAMPLES_DIR / "tracking" / "truth.csv")
    figures = compare_truth(result.table, truth[truth["frame"] % 2 == 0])
    assert figures["swap_rate"] == 0.0 and figures["median_head_error_px"] < 1.5
    # eval tracking scores the truth of the frames kept: the others were never given (recall 0.49 when they counted)
    from devocore.cli import main

    assert main(["eval", "tracking", "--video", str(folder), "--truth", str(EXAMPLES_DIR / "tracking" / "truth.csv"),
                 "--fps", "25", "--json"]) == 0
    run = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["per_video"][0]
    assert run["truth_rows_not_tracked"] == (truth["frame"] % 2 == 1).sum() and run["recall"] > 0.95


def test_eval_tracking_scores_only_the_frames_it_was_given(tmp_path, capsys):
    # a folder with a gap (frames 20-29 left out) against skeletons of every frame: the reference frames in the gap
    # cannot be tracked, and counted as missed they took the coverage from 1.0 to 0.75
    from devocore.cli import main

    frames, truth = synthetic.clip(n_frames=40, n_worms=1, seed=8, speed=3.0)
    kept = [i for i in range(40) if not 20 <= i < 30]
    folder = write_folder([frames[i] for i in kept], tmp_path / "gap", [f"{i:05d}.png" for i in kept])
    skeletons_of(truth).to_csv(tmp_path / "sk.csv", index=False)
    assert main(["eval", "tracking", "--frames", str(folder), "--skeletons", str(tmp_path / "sk.csv"), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["reference_frames"] == 30 and figures["reference_frames_not_tracked"] == 10
    assert figures["coverage"] > 0.9


def test_black_white_and_flash_frames_are_skipped_and_named(tmp_path, capsys):
    # audit: the bundled plate video after 10 black frames (a camera's first frames, the shutter) gave 1 "worm" as
    # large as the frame and lost both worms; after 5 white frames, 4 worms with 88 of 300 rows "ok"
    import json

    import tifffile

    from devocore.cli import main

    with io.open_frames(EXAMPLES_DIR / "tracking" / "worms.mp4") as source:
        frames = [io.to_gray(f) for f in source]
    plain = tracking.track_frames(frames, tracking.TrackConfig(fps=25))
    black, white = np.zeros_like(frames[0]), np.full_like(frames[0], 255)
    for before, skipped in (([black] * 10, tuple(range(10))), ([white] * 5, tuple(range(5)))):
        given = before + frames[:100] + [white] + frames[100:]  # and one flash in the middle
        result = tracking.track_frames(given, tracking.TrackConfig(fps=25))
        assert result.blank_frames == skipped + (len(before) + 100,)
        table = result.table
        assert table["worm"].nunique() == 2 and len(table) == len(plain.table)
        assert (table["status"] == "ok").sum() >= (plain.table["status"] == "ok").sum() - 8
        assert table["frame"].min() == len(before)  # the table keeps the input's frame numbers
    path = tmp_path / "shutter.tif"
    tifffile.imwrite(path, np.stack([black] * 10 + frames[:40]))
    assert main(["track", str(path), "--out", str(tmp_path / "t.csv"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["worms"] == 2 and summary["blank_frames"] == 10
    assert summary["blank"] == ("10 of 50 frames show nothing to track (black, white, or dark or light all over: a "
                                "shutter, the lamp, the lid) and were skipped: frames 0-9 (the table's frame numbers).")


@pytest.mark.parametrize("dim, saved", [(0.25, False), (0.06, False), (0.1, True)])
def test_a_dim_video_whose_noise_is_under_one_grey_level_is_tracked(tmp_path, dim, saved):
    # audit: the bundled plate video at a quarter of its brightness (plate at 38 of 255) gave 298 "worms": the noise,
    # under one level, left most pixels at the background's level, the noise was measured as 0, and every level
    # above the plate passed the threshold. Saved as MP4, a codec smooths most of a dark plate flat
    with io.open_frames(EXAMPLES_DIR / "tracking" / "worms.mp4") as source:
        frames = [(io.to_gray(f) * dim).astype(np.uint8) for f in source]
    if saved:
        writer = cv2.VideoWriter(str(tmp_path / "dim.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (640, 480), True)
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
        writer.release()
        with io.open_frames(tmp_path / "dim.mp4") as source:
            frames = list(source)
    table = tracking.track_frames(frames, tracking.TrackConfig(fps=25)).table
    assert table["worm"].nunique() == 2 and (table["status"] == "ok").sum() >= 230  # as bright as given: 254


@pytest.mark.parametrize("light", ["flicker", "drift"])
def test_a_flickering_or_drifting_lamp_does_not_lose_the_worms(light):
    # audit: the bundled plate video with its brightness flickering by 5 % from frame to frame gave 7 "worms" over 56
    # rows; drifting from 0.85 to 1.15 times its brightness (a lamp warming up), no worm at all
    with io.open_frames(EXAMPLES_DIR / "tracking" / "worms.mp4") as source:
        frames = [io.to_gray(f) for f in source]
    gains = (1 + 0.1 * np.random.default_rng(0).standard_normal(len(frames)) if light == "flicker"
             else np.linspace(0.7, 1.3, len(frames)))
    lit = [np.clip(f * g, 0, 255).astype(np.uint8) for f, g in zip(frames, gains)]
    table = tracking.track_frames(lit, tracking.TrackConfig(fps=25)).table
    assert table["worm"].nunique() == 2 and (table["status"] == "ok").sum() >= 240  # steady light: 254

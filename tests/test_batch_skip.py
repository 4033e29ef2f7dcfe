"""Batch skips files that do not fit the task, with the reason (known answers on simulated inputs)."""
import json
import shutil

import cv2
import numpy as np
import pytest

from devocore import batch, cli, config, io
from devocore.simulate import embryo

WORMS = config.EXAMPLES_DIR / "tracking" / "worms.mp4"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A real-looking nucleus slice, its mask, a flat image and a bright-field worm video."""
    root = tmp_path_factory.mktemp("batch_mixed")
    image, mask = embryo.nucleus_slice(3, size=128)
    cv2.imwrite(str(root / "slice.png"), image)
    cv2.imwrite(str(root / "slice_mask.png"), mask.astype(np.uint16))
    cv2.imwrite(str(root / "flat.png"), np.full((64, 64), 17, np.uint8))
    shutil.copy(WORMS, root / "worms.mp4")
    return root


@pytest.mark.parametrize("plane, start", [
    (np.full((40, 40), 9, np.uint16), "one value (9)"),
    ((np.arange(1600).reshape(40, 40) % 7 == 0).astype(np.uint8) * 255, "only two values (0 and 255)"),
])
def test_flat_and_binary_images_are_named(plane, start):
    assert io.content_problem(plane).startswith(start)


def test_a_label_image_with_many_cells_is_a_label_image_and_its_picture_is_not():
    image, labels = embryo.nucleus_slice(5, size=128)
    assert labels.max() > 3  # several nuclei: not a binary mask
    assert io.content_problem(labels).startswith("a label or mask image")
    assert io.content_problem(image) is None


def test_a_plane_over_a_megapixel_is_judged_on_a_subsample_with_the_same_verdict():
    labels = np.repeat(np.repeat(np.arange(64, dtype=np.uint16).reshape(8, 8), 400, 0), 400, 1)  # 3200 x 3200
    nuclei = (np.random.default_rng(0).poisson(5, labels.shape) + 200 * (labels % 5 == 0)).astype(np.uint16)
    assert io.judged_view(labels).shape == (800, 800)  # every 4th pixel of every 4th row
    assert io.content_problem(labels).startswith("a label or mask image: 64 values in flat regions")
    assert io.content_problem(nuclei) is None


def test_a_light_background_is_refused_only_for_fluorescence():
    rng = np.random.default_rng(0)
    brightfield = np.clip(rng.normal(150, 4, (64, 64)), 0, 255)
    brightfield[20:30, 5:60] = rng.normal(60, 4, (10, 55))  # a dark worm on a light background
    assert "light background" in io.content_problem(brightfield)
    assert io.content_problem(brightfield, fluorescence=False) is None


def test_an_image_for_the_track_task_is_skipped_without_starting_a_cluster(folder, tmp_path):
    plan = batch.plan(folder, tmp_path / "out", batch.get_task("track"), chunk_frames=0)
    assert [p.name for p in plan.files] == ["worms.mp4"]
    assert {p.name: r for p, r in plan.unfit.items()} == {
        name: "an image; the track task takes videos of worms" for name in ("flat.png", "slice.png", "slice_mask.png")}


@pytest.mark.skipif(not (config.SHIPPED_MODEL_DIR / "nucleus").is_dir(), reason="no nucleus model")
def test_nucleus_batch_runs_the_slice_and_skips_mask_flat_image_and_worm_video(folder, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["batch", str(folder), "--task", "nucleus", "--out", str(out), "--workers", "1", "--json"])
    assert code in (0, None)
    printed = capsys.readouterr().out
    figures = json.loads(printed.strip().splitlines()[-1])
    assert figures["ok"] == 1 and figures["skipped"] == 3 and figures["not_fitting"] == 3
    assert figures["already_complete"] == 0 and figures["failed"] == 0
    from distributed import Client

    client = Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0")
    table = batch.run_batch(folder, "nucleus", tmp_path / "again", client=client).summary.set_index("file")
    assert table["status"].to_dict() == {"flat.png": "skipped", "slice.png": "ok", "slice_mask.png": "skipped",
                                         "worms.mp4": "skipped"}
    assert table.loc["flat.png", "reason"] == "one value (17) in every pixel: an empty image"
    assert table.loc["slice_mask.png", "reason"].startswith("a label or mask image")
    assert "light background" in table.loc["worms.mp4", "reason"]
    assert table.loc["slice.png", "reason"] == "" and table.loc["slice.png", "instances"] > 3
    assert not (tmp_path / "again" / "worms.mp4").exists()  # nothing was written for a skipped file
    assert "skipped: worms.mp4: a video with a light background" in printed
    assert "(0 already complete, 3 not fitting the task)" in printed
    # a rerun: the processed slice is already complete, the others are still reported as not fitting
    rerun = batch.run_batch(folder, "nucleus", tmp_path / "again", client=client)
    client.close()
    assert rerun.skipped == 1 and rerun.unfit == 3
    assert rerun.summary.set_index("file").loc["slice.png", "reason"] == batch.ALREADY_DONE


@pytest.mark.skipif(not (config.SHIPPED_MODEL_DIR / "nucleus").is_dir(), reason="no nucleus model")
def test_a_colour_image_whose_channels_differ_gets_the_single_file_commands_note(tmp_path):
    # before, Batch kept only its own kind note: the mean of the channels was segmented without a word
    from distributed import Client

    image, _ = embryo.nucleus_slice(3, size=128)
    colour = np.zeros((128, 128, 3), np.uint8)
    colour[..., 2] = image  # nuclei in red (OpenCV writes BGR)
    colour[..., 1] = np.random.default_rng(0).integers(0, 60, (128, 128))  # another stain in green
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "two_stains.png"), colour)
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        table = batch.run_batch(tmp_path / "in", "nucleus", tmp_path / "out", client=client).summary
    assert table["status"].tolist() == ["ok"]
    assert ("'two_stains.png' has 3 channels that differ (1: nuclei, 2: little, 3: little); channel 1 was "
            "segmented") in table["note"].iloc[0]
    assert batch.noted(table)["file"].tolist() == ["two_stains.png"]


def test_a_video_whose_tracked_objects_are_not_worms_gets_a_note(tmp_path):
    # before, the track task wrote hundreds of "worms" for an embryo movie without a word
    from distributed import Client

    from tests.test_tracking import round_blob_frames, write_clip

    (tmp_path / "in").mkdir()
    write_clip(round_blob_frames(), tmp_path / "in" / "embryo.avi")
    shutil.copy(WORMS, tmp_path / "in" / "worms.mp4")
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        table = batch.run_batch(tmp_path / "in", "track", tmp_path / "out", client=client).summary
    assert table["status"].tolist() == ["ok", "ok"]
    assert batch.noted(table)["file"].tolist() == ["embryo.avi"]
    assert batch.noted(table)["note"].iloc[0].startswith("The objects followed are not worm-shaped")


def test_a_movie_of_membranes_in_a_lineage_batch_gets_a_note(tmp_path):
    # before, the lineage task counted cells in a membrane movie without a word
    import tifffile
    from distributed import Client

    from devocore.simulate.embryo_render import membrane_image

    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "membranes.tif", np.stack([membrane_image(s, size=128)[0] for s in (1, 4, 7)]),
                     photometric="minisblack")
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        table = batch.run_batch(tmp_path / "in", "lineage", tmp_path / "out", client=client).summary
    assert table["status"].tolist() == ["ok"]
    assert "as membranes look (this task counts nuclei" in batch.noted(table)["note"].iloc[0]


def test_a_lineage_batch_notes_which_channel_of_a_multichannel_tiff_it_took(tmp_path):
    import tifffile
    from distributed import Client

    from devocore.simulate import epic_movie as em

    shots = em.toy_snapshots(np.ones((60, 8)) * np.arange(1, 61)[:, None], n_frames=6, seed=3)
    grey = np.stack([np.asarray(f) if np.ndim(f) == 2 else np.asarray(f)[..., 1] for f in em.render_movie(shots, 1)])
    dark = np.random.default_rng(0).integers(0, 12, grey.shape).astype(grey.dtype)
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "two.tif", np.stack([dark, grey], axis=1), imagej=True,
                     metadata={"axes": "TCYX"})
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        table = batch.run_batch(tmp_path / "in", "lineage", tmp_path / "out", client=client).summary
    assert table["status"].tolist() == ["ok"]
    assert "channel 2 was taken as the nuclei" in table["note"].iloc[0]


@pytest.mark.parametrize("seconds, text", [(0.4242, "0.42 s"), (12.34, "12.3 s"), (245.4, "245 s"),
                                           (725, "12 min 5 s")])
def test_seconds_have_sensible_precision(seconds, text):
    assert batch.format_seconds(seconds) == text

"""Batch with the real nucleus model on a 2-worker LocalCluster: same files as the serial CLI."""
import re

import cv2
import numpy as np
import pandas as pd
import pytest
import tifffile

from devocore import batch, cli, config
from devocore.simulate import embryo, embryo_export

pytestmark = pytest.mark.skipif(not (config.SHIPPED_MODEL_DIR / "nucleus").is_dir(), reason="no nucleus model")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch_nuclei")
    for seed in range(2):
        image, _ = embryo.nucleus_slice(seed, size=128)
        cv2.imwrite(str(root / f"slice_{seed}.png"), image)
    history = embryo.simulate(seed=0, n_frames=12)
    embryo_export.write_video(embryo.timelapse(history, size=96, seed=0), root / "movie.avi")
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    return root


def test_batch_nucleus_equals_serial_cli(folder, tmp_path, capsys):
    out = tmp_path / "batch"
    result = batch.run_batch(folder, "nucleus", out, workers=2, chunk_frames=5)  # the video becomes 3 ranges
    table = result.summary.set_index("file")
    assert table.loc["corrupt.png", "status"] == "failed" and "cannot be decoded" in table.loc["corrupt.png", "error"]
    assert (table.drop("corrupt.png")["status"] == "ok").all()
    assert table.loc["movie.avi", "frames"] == 12
    for name in ("slice_0.png", "movie.avi"):
        serial = tmp_path / "serial" / name
        assert cli.main(["segment", "nucleus", str(folder / name), "--out", str(serial)]) == 0
        for output in ("table.csv", "centroids.csv") + (("per_frame.csv",) if name.endswith(".avi") else ()):
            pd.testing.assert_frame_equal(pd.read_csv(out / name / output), pd.read_csv(serial / output))
        np.testing.assert_array_equal(tifffile.imread(out / name / "labels.tif"), tifffile.imread(serial / "labels.tif"))
    capsys.readouterr()


def test_kind_note_flags_an_image_of_the_other_kind_than_the_task():
    from devocore import config
    from devocore.batch_tasks import kind_note

    membrane, nuclei = (config.EXAMPLES_DIR / "segmentation" / n for n in ("membrane.png", "nuclei.png"))
    assert kind_note(membrane, "nucleus") == "looks like membranes, not nuclei: check the task and the results"
    assert kind_note(nuclei, "membrane") == "looks like nuclei, not membranes: check the task and the results"
    assert kind_note(membrane, "membrane") == kind_note(nuclei, "nucleus") == ""


def test_videos_are_judged_on_frames_sampled_through_them(tmp_path):
    from devocore.batch_tasks import _sample_frames, check_microscopy

    history = embryo.simulate(seed=0, n_frames=12)
    movie = tmp_path / "movie.avi"
    embryo_export.write_video(embryo.timelapse(history, size=96, seed=0), movie)
    frames = _sample_frames(movie)
    assert len(frames) == 5 and all(f.shape == (96, 96) and f.dtype == np.uint8 for f in frames)
    assert check_microscopy(movie) is None
    blank = tmp_path / "blank.avi"
    embryo_export.write_video(np.full((6, 96, 96), 40, np.uint8), blank)
    assert re.match(r"one value \((39|40|41)\) in every pixel of the sampled frames: an empty video$",
                    check_microscopy(blank))  # the codec may round 40 by one


def test_batch_zoom_segments_an_embryo_small_in_a_wide_field_as_segment_zoom_does(tmp_path, capsys):
    # audit: Batch's note column named `segment --zoom` for such a file, but Batch itself could not zoom
    import json

    from PIL import Image

    from devocore import io, segmentation
    from devocore.errors import DevocoreError
    from tests.test_segmentation_guess import _widened

    image = io.to_gray(io.read_image(config.EXAMPLES_DIR / "segmentation" / "membrane.png").data)
    cells = segmentation.segment(image, segmentation.load("membrane")).count  # 7, in its own field
    wide = _widened(image, 2)
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(wide).save(folder / "wide.png")
    tifffile.imwrite(folder / "movie.tif", np.stack([wide] * 4), imagej=True, metadata={"axes": "TYX"})
    embryo_export.write_video(np.stack([wide] * 4), folder / "movie.avi")  # split into ranges of 2 frames

    out = tmp_path / "out"
    assert cli.main(["batch", str(folder), "--task", "membrane", "--out", str(out), "--workers", "1",
                     "--chunk-frames", "2"]) == 0
    table = pd.read_csv(out / "summary.csv").set_index("file")
    assert (table["status"] == "ok").all() and table.loc["wide.png", "instances"] < cells
    assert all("`batch --zoom 2`" in table.loc[name, "note"] for name in ("wide.png", "movie.avi"))
    assert cli.main(["batch", str(folder), "--task", "membrane", "--out", str(out), "--zoom", "2", "--workers", "1",
                     "--chunk-frames", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ok"] == 3 and summary["already_complete"] == 0  # outputs at zoom 1 are redone, not kept
    zoomed = pd.read_csv(out / "summary.csv").set_index("file")
    assert zoomed.loc["wide.png", "instances"] == cells and (zoomed["zoom"] == 2).all()
    assert zoomed["note"].isna().all()  # the zoom the note named: nothing left to say
    assert zoomed.loc["movie.avi", "instances"] == zoomed.loc["movie.tif", "instances"] == 4 * cells
    assert cli.main(["segment", "membrane", str(folder / "movie.avi"), "--out", str(tmp_path / "one"), "--zoom", "2",
                     "--no-overlay"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "movie.avi" / "table.csv"),
                                  pd.read_csv(tmp_path / "one" / "table.csv"))
    again = batch.run_batch(folder, "membrane", out, workers=1, options={"zoom": 2.0})
    assert again.skipped == 3  # the same zoom: complete
    with pytest.raises(DevocoreError, match=r"The track task takes no zoom option \(the membrane and nucleus tasks "
                                            r"do\)"):
        batch.run_batch(folder, "track", tmp_path / "t", options={"zoom": 2.0})
    assert cli.main(["batch", str(folder), "--task", "membrane", "--out", str(tmp_path / "new"), "--zoom", "9"]) == 2
    assert "--zoom must be between 0.5 and 8, got 9.0." in capsys.readouterr().err
    assert not (tmp_path / "new").exists()

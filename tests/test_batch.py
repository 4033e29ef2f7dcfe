"""Batch machinery on a real LocalCluster: failures alone, resume, ranges joined in order."""
import json

import numpy as np
import pytest

from devocore import batch
from tests.test_io import png_bytes, write_video


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch_in")
    (root / "sub").mkdir()
    for i in range(3):
        (root / f"img{i}.png").write_bytes(png_bytes(np.full((16, 20), 10 * (i + 1), np.uint8)))
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    frames = [np.full((24, 32, 3), 2 * i, np.uint8) for i in range(30)]
    write_video(root / "sub" / "movie.avi", frames)
    (root / "notes.txt").write_text("not an input")
    return root


def test_batch_runs_resumes_and_redoes_only_what_is_missing(folder, tmp_path):
    out = tmp_path / "out"
    first = batch.run_batch(folder, "inventory", out, workers=2, chunk_frames=8)
    table = first.summary.set_index("file")
    assert sorted(table.index) == ["img0.png", "img1.png", "img2.png", "sub/broken.png", "sub/movie.avi"]
    assert table.loc["sub/broken.png", "status"] == "failed"
    assert "cannot be decoded" in table.loc["sub/broken.png", "error"]
    assert (table.drop("sub/broken.png")["status"] == "ok").all()
    # the video was split into 4 ranges and joined: all 30 frames, the right mean (0, 2, ..., 58 -> 29)
    movie = json.loads((out / "sub" / "movie.avi" / "inventory.json").read_text())
    assert movie["frames"] == 30 and movie["mean"] == pytest.approx(29, abs=1.5)
    assert json.loads((out / "img1.png" / "inventory.json").read_text())["mean"] == 20
    assert (out / "summary.csv").exists() and (out / "summary.parquet").exists() and (out / "run.log").exists()
    assert first.dashboard

    second = batch.run_batch(folder, "inventory", out, workers=2)
    statuses = second.summary.set_index("file")["status"]
    assert second.skipped == 4 and statuses["sub/broken.png"] == "failed"

    (out / "img2.png" / "inventory.json").unlink()
    third = batch.run_batch(folder, "inventory", out, workers=1)
    statuses = third.summary.set_index("file")["status"]
    assert statuses["img2.png"] == "ok" and statuses["img0.png"] == "skipped" and third.skipped == 3
    assert (out / "img2.png" / "inventory.json").exists()


def test_serial_and_batch_outputs_agree(folder, tmp_path):
    serial = tmp_path / "serial"
    serial.mkdir()
    row = batch.process_file(folder / "img0.png", serial, "inventory")
    assert row["status"] == "ok"
    out = tmp_path / "b"
    batch.run_batch(folder, "inventory", out, workers=1)
    assert (serial / "inventory.json").read_text() == (out / "img0.png" / "inventory.json").read_text()


def test_unknown_task_names_options():
    with pytest.raises(Exception, match="Available options are"):
        batch.get_task("nope")


def test_links_out_of_the_input_folder_are_not_followed(tmp_path):
    inside, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    inside.mkdir(), elsewhere.mkdir()
    (inside / "a.png").write_bytes(png_bytes(np.zeros((8, 8), np.uint8)))
    (elsewhere / "secret.png").write_bytes(png_bytes(np.zeros((8, 8), np.uint8)))
    (inside / "leak.png").symlink_to(elsewhere / "secret.png")
    (inside / "same.png").symlink_to(inside / "a.png")  # a link that stays inside is still read
    work = batch.plan(inside, tmp_path / "out", batch.get_task("inventory"), chunk_frames=0)
    assert [p.name for p in work.files] == ["a.png", "same.png"]
    assert [p.name for p in work.outside] == ["leak.png"]


def test_output_folder_inside_the_input_folder_is_refused(folder):
    from devocore.errors import DevocoreError

    before = sorted(folder.rglob("*"))
    with pytest.raises(DevocoreError, match="inside the input folder"):
        batch.run_batch(folder, "inventory", folder / "results", workers=1)
    assert sorted(folder.rglob("*")) == before


def test_a_mistyped_input_folder_leaves_no_output_folder_behind(tmp_path):
    from devocore.errors import DevocoreError

    with pytest.raises(DevocoreError, match="is not a folder"):
        batch.run_batch(tmp_path / "no such folder", "inventory", tmp_path / "results", workers=1)
    assert list(tmp_path.iterdir()) == []

"""Nothing the user had is lost: outputs never replace inputs or files devocore did not write (issue 31)."""
import os

import numpy as np
import pytest

from devocore import cli
from tests.test_io import png_bytes, write_video


@pytest.fixture
def files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    video = data / "w.avi"
    frames = []
    for i in range(6):
        frame = np.full((48, 64, 3), 200, np.uint8)
        frame[20:24, 10 + i:40 + i] = 30
        frames.append(frame)
    write_video(video, frames)
    image = data / "x.png"
    image.write_bytes(png_bytes(np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8)))
    series = data / "s.csv"
    series.write_text("time_s,value\n" + "".join(f"{i / 10},{np.sin(i / 5):.4f}\n" for i in range(60)))
    return {"video": video, "image": image, "series": series}


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


CASES = {
    "track --out": ["track", "{video}", "--out", "{video}"],
    "track --overlay": ["track", "{video}", "--out", "{tmp}/t.csv", "--overlay", "{video}"],
    "track --snapshot": ["track", "{video}", "--out", "{tmp}/t.csv", "--snapshot", "{video}"],
    "forecast --out": ["forecast", "{series}", "--target", "value", "--horizon", "5", "--out", "{series}"],
    "lineage --out": ["lineage", "{video}", "--out", "{video}"],
    "segment --out": ["segment", "nucleus", "{image}", "--out", "{image}"],
}


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_output_naming_an_input_is_refused_and_the_input_kept(files, tmp_path, capsys, case, overwrite):
    before = {k: p.read_bytes() for k, p in files.items()}
    argv = [a.format(tmp=tmp_path, **files) for a in CASES[case]] + (["--overwrite"] if overwrite else [])
    code, err = run(argv, capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and "never overwritten" in err[0]
    assert {k: p.read_bytes() for k, p in files.items()} == before


def test_a_hard_link_to_the_input_is_the_input(files, tmp_path, capsys):
    link = tmp_path / "link.csv"
    os.link(files["video"], link)
    before = files["video"].read_bytes()
    code, err = run(["track", files["video"], "--out", link, "--overwrite"], capsys)
    assert code == 2 and "is an input" in err[0]
    assert files["video"].read_bytes() == before


def test_a_file_devocore_did_not_write_needs_overwrite_and_a_rerun_does_not(files, tmp_path, capsys):
    mine = tmp_path / "notes.csv"
    mine.write_text("my own notes\n")
    code, err = run(["track", files["video"], "--out", mine], capsys)
    assert code == 2 and "--overwrite" in err[0] and mine.read_text() == "my own notes\n"
    assert run(["track", files["video"], "--out", mine, "--overwrite"], capsys)[0] == 0
    assert mine.read_text().startswith("frame")
    out = tmp_path / "t.csv"
    assert run(["track", files["video"], "--out", out], capsys)[0] == 0
    assert run(["track", files["video"], "--out", out], capsys)[0] == 0  # its own previous output
    out.write_text("edited by hand\n")
    code, err = run(["track", files["video"], "--out", out], capsys)
    assert code == 2 and out.read_text() == "edited by hand\n"


def test_devices_are_refused(files, capsys):
    code, err = run(["track", files["video"], "--out", os.devnull], capsys)
    assert code == 2 and len(err) == 1 and "not a regular file" in err[0]


def test_a_missing_folder_is_created_and_removed_again_on_failure(files, tmp_path, capsys):
    out = tmp_path / "a" / "b" / "t.csv"
    assert run(["track", files["video"], "--out", out], capsys)[0] == 0 and out.is_file()
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    code, err = run(["track", bad, "--out", tmp_path / "c" / "d" / "t.csv"], capsys)
    assert code == 2 and not (tmp_path / "c").exists()


def test_two_outputs_with_one_name_are_refused(files, tmp_path, capsys):
    code, err = run(["track", files["video"], "--out", tmp_path / "o", "--overlay", tmp_path / "o"], capsys)
    assert code == 2 and "same path" in err[0]


def test_train_out_in_or_around_the_training_data_is_refused(tmp_path, capsys):
    from devocore.train import user_data

    images, masks = user_data.example_dataset(tmp_path / "data", n=2, size=64)
    for out in (tmp_path / "data", images / "model", tmp_path):
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        code, err = run(["train", "nucleus", "--images", images, "--masks", masks, "--out", out,
                         "--epochs", "1"], capsys)
        assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("where", ["same", "inside"])
def test_batch_out_in_its_input_folder_is_refused(files, capsys, where):
    folder = files["video"].parent
    out = folder if where == "same" else folder / "results"
    before = sorted(folder.rglob("*"))
    code, err = run(["batch", folder, "--task", "inventory", "--out", out], capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
    assert sorted(folder.rglob("*")) == before


def test_every_option_that_writes_a_file_is_checked():
    import re

    from devocore import outputs

    parser = cli.build_parser()
    unchecked = []
    stack = [parser]
    while stack:
        current = stack.pop()
        for action in current._actions:
            if action.choices and isinstance(action.choices, dict):
                stack.extend(action.choices.values())
            elif action.nargs != 0 and re.search(r"\b(write|writes|save|saves|saved)\b", action.help or "") \
                    and action.dest not in outputs.OUTPUT_OPTIONS + ("checkpoint", "cache", "name"):
                unchecked.append(f"{current.prog} {action.option_strings or action.dest}")
    assert not unchecked, unchecked


def test_a_results_folder_holding_files_of_yours_needs_overwrite_and_a_rerun_does_not(files, tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "table.csv").write_text("my own cell table\n")  # a name segment writes
    (results / "notes.txt").write_text("my notes\n")
    code, err = run(["segment", "nucleus", files["image"], "--out", results], capsys)
    assert code == 2 and len(err) == 1 and "'notes.txt', 'table.csv'" in err[0] and "--overwrite" in err[0]
    assert (results / "table.csv").read_text() == "my own cell table\n"
    assert sorted(p.name for p in results.iterdir()) == ["notes.txt", "table.csv"]
    assert run(["segment", "nucleus", files["image"], "--out", results, "--overwrite"], capsys)[0] == 0
    assert (results / "table.csv").read_text() != "my own cell table\n"
    assert (results / "notes.txt").read_text() == "my notes\n"  # a name segment does not write: untouched
    fresh = tmp_path / "fresh"
    assert run(["segment", "nucleus", files["image"], "--out", fresh], capsys)[0] == 0
    assert run(["segment", "nucleus", files["image"], "--out", fresh], capsys)[0] == 0  # its own results
    (fresh / "table.csv").write_text("edited by hand\n")
    code, err = run(["segment", "nucleus", files["image"], "--out", fresh], capsys)
    assert code == 2 and "'table.csv'" in err[0] and (fresh / "table.csv").read_text() == "edited by hand\n"


def test_a_batch_folder_holding_a_summary_of_yours_is_refused(files, tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "summary.csv").write_text("my summary\n")
    code, err = run(["batch", files["video"].parent, "--task", "inventory", "--out", results], capsys)
    assert code == 2 and "'summary.csv'" in err[0] and (results / "summary.csv").read_text() == "my summary\n"


def test_what_a_failed_run_wrote_is_devocores_so_a_rerun_needs_no_flag(tmp_path):
    from devocore import outputs

    folder, single = tmp_path / "results", tmp_path / "one.csv"
    folder.mkdir()
    guard = outputs.check("batch", {}, {"out": str(folder), "plot": str(single)})
    (folder / "a").mkdir()
    (folder / "a" / "labels.tif").write_bytes(b"half written")
    single.write_text("partial\n")
    guard.record()  # as the CLI does when the command fails
    again = outputs.check("batch", {}, {"out": str(folder), "plot": str(single)})
    assert set(again.outputs) == {"out", "plot"}
    (folder / "a" / "labels.tif").write_bytes(b"changed by someone else")
    with pytest.raises(outputs.OutputError, match="a/labels.tif"):
        outputs.check("batch", {}, {"out": str(folder)})


@pytest.mark.parametrize("argv, expected", [
    (["track", "{video}", "--out", "{tmp}/adir"], "is a folder; give the name of the file"),
    (["track", "{video}", "--out", "{tmp}/t.csv", "--snapshot", "{tmp}/snap"], "must end in .png or .jpg"),
    (["track", "{video}", "--out", "{tmp}/t.csv", "--overlay", "{tmp}/o.xyz"], "must end in .mp4"),
    (["forecast", "{series}", "--target", "value", "--horizon", "5", "--out", "{tmp}/f.csv", "--plot",
      "{tmp}/p.xyz"], "'p.xyz' must end in .png"),
    (["segment", "nucleus", "{image}", "--out", "{tmp}/afile.txt"], "is a file; this command writes a folder"),
])
def test_an_output_of_the_wrong_kind_is_refused_before_anything_runs(files, tmp_path, capsys, argv, expected):
    (tmp_path / "afile.txt").write_text("mine\n")
    (tmp_path / "adir").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = run([a.format(tmp=tmp_path, **files) for a in argv], capsys)
    assert code == 2 and len(err) == 1 and expected in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == before and (tmp_path / "afile.txt").read_text() == "mine\n"

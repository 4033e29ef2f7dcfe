"""Ordinary bad input gets exit 2 and one clear last line, never 'internal error' (issue 31)."""
import hashlib
import json
import pickle

import numpy as np
import pytest

from devocore import cli, config
from tests.test_io import png_bytes


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines(), captured.out


def last_error(err):
    assert err and err[-1].startswith("error: ") and "internal error" not in "\n".join(err), err
    return err[-1]


def _series(path, bad):
    rows = [f"{i / 10},{np.sin(i / 5):.4f}" for i in range(80)]
    rows[30] = f"3.0,{bad}"
    path.write_text("time_s,value\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("bad", ["inf", "-inf", "1e999"])
def test_forecast_refuses_infinite_values_with_the_row(tmp_path, capsys, bad):
    series = _series(tmp_path / "s.csv", bad)
    code, err, _ = run(["forecast", series, "--target", "value", "--horizon", "5", "--out", tmp_path / "f.csv"],
                       capsys)
    assert code == 2 and "infinite value" in last_error(err) and "row 32" in err[-1]


def test_forecast_says_which_cells_hold_text(tmp_path):
    from devocore import forecast

    series = forecast.load_series(_series(tmp_path / "s.csv", "abc"), name="s.csv")
    assert any("hold text" in m and "'abc' in row 32" in m for m in series.messages)


def _epic(path, names):
    rows = ["cell,time,x,y,z,size"]
    rng = np.random.default_rng(0)
    for t in range(1, 8):
        for name in names[: 4 + t // 2]:
            x, y, z = rng.random(3) * 50
            rows.append(f"{name},{t},{x:.1f},{y:.1f},{z:.1f},20")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_lineage_classifier_refuses_a_table_without_sulston_names(tmp_path, capsys):
    good = _epic(tmp_path / "good.csv", ["ABa", "ABp", "EMS", "P2", "ABal", "ABar", "ABpl", "ABpr"])
    unknown = _epic(tmp_path / "unknown.csv", ["foo", "bar", "baz", "qux", "a1", "a2", "a3", "a4"])
    code, err, _ = run(["eval", "lineage-classifier", "--train", good, "--test", unknown], capsys)
    assert code == 2 and "no" in last_error(err) and "Sulston" in err[-1] and "unknown.csv" in err[-1]


@pytest.mark.parametrize("side", [1, 3])
def test_track_refuses_tiny_images(tmp_path, capsys, side):
    image = tmp_path / "tiny.png"
    image.write_bytes(png_bytes(np.full((side, side), 100, np.uint8)))
    code, err, _ = run(["track", image, "--out", tmp_path / "t.csv"], capsys)
    assert code == 2 and f"{side} x {side} pixels" in last_error(err)


def test_a_pickle_with_a_valid_checksum_is_never_loaded(tmp_path, capsys):
    folder = tmp_path / "pickled"
    folder.mkdir()
    card = json.loads((config.SHIPPED_MODEL_DIR / "nucleus" / "card.json").read_text())
    payload = pickle.dumps({"weights": [1, 2, 3]})
    (folder / "weights.safetensors").write_bytes(payload)
    card["sha256"] = hashlib.sha256(payload).hexdigest()
    (folder / "card.json").write_text(json.dumps(card))
    code, err, _ = run(["train", "nucleus", "--init", folder, "--out", tmp_path / "m", "--epochs", "1"], capsys)
    assert code == 2 and "never pickles" in last_error(err)
    assert not (tmp_path / "m").exists()


def test_an_unwritable_output_is_an_input_error(tmp_path, capsys, monkeypatch):
    from devocore import forecast

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "f.csv"))

    monkeypatch.setattr(forecast, "load_series", refuse)
    code, err, _ = run(["forecast", "x.csv", "--target", "v", "--horizon", "2", "--out", tmp_path / "f.csv"], capsys)
    assert code == 2 and "Permission denied" in last_error(err)


def test_no_internal_error_when_the_state_folder_is_unwritable(tmp_path, capsys, monkeypatch):
    (tmp_path / "state").write_text("a file where the folder should be")
    monkeypatch.setenv("DEVOCORE_STATE_DIR", str(tmp_path / "state"))
    image = tmp_path / "tiny.png"
    image.write_bytes(png_bytes(np.full((20, 20), 100, np.uint8)))
    code, _, _ = run(["track", image, "--out", tmp_path / "t.csv"], capsys)
    assert code == 0 and (tmp_path / "t.csv").exists()


def test_lineage_flags_frames_without_an_embryo(tmp_path, capsys):
    from devocore import lineage
    from devocore.io import open_frames
    from tests.test_io import write_video

    with open_frames(config.EXAMPLES_DIR / "lineage" / "timelapse.mp4") as frames:
        embryo = [frame for index, frame in enumerate(frames) if index in (20, 40, 60)]
    black = np.zeros_like(embryo[0])
    noise = np.random.default_rng(0).integers(0, 255, embryo[0].shape, dtype=np.uint8)
    video = tmp_path / "mixed.avi"
    write_video(video, [*embryo, black, noise, black])
    code, err, _ = run(["lineage", video, "--out", tmp_path / "p.csv", "--method", "stage"], capsys)
    assert code == 0 and any(line.startswith("warning: Frames 4-6 (3 of 6) show no embryo") for line in err), err
    import pandas as pd

    table = pd.read_csv(tmp_path / "p.csv")
    assert table["embryo"].tolist() == [True, True, True, False, False, False]
    assert [lineage.structure(f) >= lineage.STRUCTURE_MIN for f in (black, noise)] == [False, False]


def test_lineage_of_a_noise_image_warns(tmp_path, capsys):
    image = tmp_path / "noise.png"
    image.write_bytes(png_bytes(np.random.default_rng(1).integers(0, 255, (200, 200), dtype=np.uint8)))
    code, err, _ = run(["lineage", image, "--out", tmp_path / "p.csv"], capsys)
    assert code == 0 and any("No frame shows an embryo" in line for line in err)

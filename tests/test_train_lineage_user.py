"""`train lineage --frames --populations`: fine-tuning a lineage model on the user's own movie."""
import json

import numpy as np
import pytest
from PIL import Image

from devocore import cli, nets, registry
from devocore.simulate.epic_movie import movie_truth, render_movie, toy_snapshots


@pytest.fixture
def movie(tmp_path):
    curves = np.array([[n * 7, n, n, n, n, n, n, n] for n in (1, 2, 4, 8, 16, 30)], float)
    shots = toy_snapshots(curves, n_frames=12, seed=0)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, frame in enumerate(render_movie(shots, seed=0)):
        Image.fromarray(frame).save(frames / f"t{i:03d}.png")
    movie_truth(shots).to_csv(tmp_path / "populations.csv", index=False)
    card = {"task": "lineage", "architecture": "resnet18-lineage", "config": {"in_channels": 1, "curve_len": 6},
            "input_size": 64, "training_data": "test", "data_terms": "EPIC terms", "training_command": "test",
            "metrics": {}}
    registry.save_model(nets.build("resnet18-lineage", in_channels=1, curve_len=6),
                        registry.config.user_model_dir() / "tiny-lineage", card)
    return frames, tmp_path / "populations.csv"


def test_lineage_fine_tunes_on_a_user_movie_and_saves_a_listed_model(movie, capsys):
    frames, table = movie
    code = cli.main(["train", "lineage", "--frames", str(frames), "--populations", str(table), "--from",
                     "tiny-lineage", "--epochs", "2", "--steps", "3", "--batch-size", "4", "--json"])
    assert code == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["val_mae_log"] <= figures["start_val_mae_log"]  # the best epoch (by log MAE) is kept; 0 = start
    assert "lineage-user" in [m.name for m in registry.list_models("lineage")]
    card = registry.find_model("lineage-user").card
    assert "t000.png" not in card["training_data"] and "frames" in card["training_data"]
    assert card["data_terms"] == "trained on your own frames: their terms apply; the start model's data: EPIC terms"


def test_lineage_table_beyond_the_movie_is_one_clear_line(movie, capsys):
    frames, table = movie
    text = table.read_text().splitlines()
    table.write_text("\n".join(text + ["40,1,1,1,1,1,1,1"]) + "\n")
    code = cli.main(["train", "lineage", "--frames", str(frames), "--populations", str(table),
                     "--from", "tiny-lineage"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "frames [40]" in err and "has 12 frames" in err


def test_a_folder_numbered_by_its_file_names_meets_its_annotation_by_those_numbers(movie):
    # lineage and eval lineage number such a folder 150, 151, ...; fine-tuning numbered it 1, 2, ... and refused
    # the annotation that fits it ("has populations for frames [150, ...] but 'frames' has 12 frames")
    import pandas as pd

    from devocore.errors import DevocoreError
    from devocore.train.lineage_user import load_movie

    frames, table = movie
    for path in sorted(frames.iterdir()):
        path.rename(frames / f"t{int(path.stem[1:]) + 150:03d}.png")
    truth = pd.read_csv(table)
    truth["frame"] += 149
    truth.to_csv(table, index=False)
    loaded = load_movie(frames, table, size=64)
    assert len(loaded.x) == len(truth)
    truth.loc[0, "frame"] = 40
    truth.to_csv(table, index=False)
    with pytest.raises(DevocoreError, match=r"frames \[40\] but 'frames' has frames numbered 150-161 by their file"):
        load_movie(frames, table, size=64)

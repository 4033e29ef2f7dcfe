"""`train lineage` on EPIC cell tables: tables held out of training stay out of the network and its card."""
import json

import numpy as np
import pandas as pd
import pytest

from devocore import cli, registry


def _epic_table(path, seed: int, steps: int = 6) -> None:
    """A tiny EPIC-style table: AB doubling from 1 to 2**(steps-1) cells, random positions."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(1, steps + 1):
        for i in range(2 ** (t - 1)):
            rows.append({"cell": f"AB{i:03b}", "time": t, "x": rng.uniform(250, 500), "y": rng.uniform(150, 350),
                         "z": rng.uniform(1, 30), "size": 40.0})
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.fixture
def data(tmp_path):
    epic = tmp_path / "epic"
    epic.mkdir()
    for i, name in enumerate(("a.csv", "b.csv", "c.csv")):
        _epic_table(epic / name, i)
    curves = pd.DataFrame([{"embryo": e, "frame": t, "A": 2 ** (t - 1), "E": 0, "M": 0, "P": 1, "C": 0, "D": 0,
                            "Z": 0} for e in ("x", "y") for t in range(1, 7)])
    curves.to_csv(tmp_path / "curves.csv", index=False)
    return tmp_path


def test_a_held_out_table_is_not_trained_on_and_the_card_says_so(data):
    out = data / "model"
    code = cli.main(["train", "lineage", "--curves", str(data / "curves.csv"), "--epic", str(data / "epic"),
                     "--validation-table", "c.csv", "--hold-out", "b.csv", "--n-simulated", "0",
                     "--minutes", "0.05", "--batch-size", "2", "--out", str(out)])
    assert code == 0
    card = json.loads((out / "card.json").read_text())
    assert "a.csv" in card["training_data"] and "b.csv" not in card["training_data"]
    assert "--hold-out b.csv" in card["training_command"]
    assert "frame n of a movie = time point n" in card["labels"]
    assert "Murray et al., Genome Research 2012" in card["data_terms"]
    assert card["train_config"]["hold_out"] == ["b.csv"]
    assert registry.load_folder(out) is not None


def test_an_unknown_held_out_table_is_one_clear_line(data, capsys):
    code = cli.main(["train", "lineage", "--curves", str(data / "curves.csv"), "--epic", str(data / "epic"),
                     "--hold-out", "missing.csv", "--out", str(data / "model")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "missing.csv" in err and "Traceback" not in err
    assert not (data / "model").exists()


def test_a_network_trained_on_embryo_crops_says_so_and_is_run_on_crops(data, monkeypatch):
    from devocore import lineage
    from devocore.lineage import pixels

    out = data / "model"
    code = cli.main(["train", "lineage", "--curves", str(data / "curves.csv"), "--epic", str(data / "epic"),
                     "--validation-table", "c.csv", "--crop", "--n-simulated", "0", "--minutes", "0.05",
                     "--batch-size", "2", "--out", str(out)])
    assert code == 0
    net = registry.load_folder(out)
    assert net.card["input_crop"] == "embryo" and lineage.crops_embryo(net)
    assert net.card["training_command"].endswith(" --crop")
    asked = []
    real_box = pixels.embryo_box
    monkeypatch.setattr(pixels, "embryo_box", lambda plane: asked.append(plane.shape) or real_box(plane))
    frame = np.zeros((40, 60, 3), np.uint8)
    frame[10:20, 20:35, 1] = 200
    lineage.run_network(net, [frame, frame], 2)
    assert asked == [(40, 60), (40, 60)]


def test_init_starts_from_the_given_models_weights_and_refuses_another_input(data, capsys):
    import torch

    base = ["train", "lineage", "--curves", str(data / "curves.csv"), "--epic", str(data / "epic"),
            "--validation-table", "c.csv", "--n-simulated", "0", "--minutes", "0.05", "--batch-size", "2"]
    assert cli.main(base + ["--seed", "1", "--out", str(data / "first")]) == 0
    # lr 0: the convolutions keep exactly the starting weights (batch-norm statistics still move)
    start = ["--init", str(data / "first")]
    assert cli.main(base + ["--seed", "2", "--lr", "0", *start, "--out", str(data / "next")]) == 0
    assert cli.main(base + ["--seed", "2", "--lr", "0", "--out", str(data / "scratch")]) == 0
    first, after, scratch = (registry.load_folder(data / n) for n in ("first", "next", "scratch"))
    weight = "encoder.conv1.weight" if "encoder.conv1.weight" in first.state_dict() else next(
        k for k in first.state_dict() if k.endswith("conv1.weight"))
    assert torch.equal(after.state_dict()[weight], first.state_dict()[weight])
    assert not torch.equal(scratch.state_dict()[weight], first.state_dict()[weight])
    assert after.card["init"]["sha256"] == first.card["sha256"]
    assert after.card["init"]["training_data"] == first.card["training_data"]
    assert "--init" in after.card["training_command"]

    code = cli.main(base + ["--input-size", "96", "--init", str(data / "first"), "--out", str(data / "wrong")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--input-size 64" in err and "Traceback" not in err
    assert not (data / "wrong").exists()

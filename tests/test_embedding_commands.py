"""The eval commands on small synthetic files: they run and report the promised keys."""
import json

import pytest

from devocore import cli
from devocore.embedding.synthetic import behaviour_table, embryo_table, random_rotation


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _embryo_files(folder, n_frames: int, turn: int) -> list[str]:
    """Three simulated EPIC tables, each turned differently on the slide."""
    paths = []
    for seed in range(3):
        path = folder / f"embryo{seed}.csv"
        embryo_table(seed=seed, n_frames=n_frames, rotation=random_rotation(seed + turn)).to_csv(path, index=False)
        paths.append(str(path))
    return paths


def test_eval_lineage_classifier_json(tmp_path, capsys):
    paths = _embryo_files(tmp_path, 60, 10)
    code = cli.main(["eval", "lineage-classifier", "--train", *paths[:2], "--test", paths[2],
                     "--max-rows", "2000", "--plot-dir", str(tmp_path / "img"), "--json"])
    assert code == 0
    figures = last_json(capsys)
    for key in ("accuracy", "per_file", "baseline_accuracy", "majority_accuracy"):
        assert key in figures
    assert figures["accuracy"] > figures["majority_accuracy"]
    assert (tmp_path / "img" / "pca_embryo2.png").exists()


def test_eval_lineage_classifier_leave_one_out_json(tmp_path, capsys):
    paths = _embryo_files(tmp_path, 40, 20)
    code = cli.main(["eval", "lineage-classifier", "--train", *paths, "--leave-one-out", "--max-rows", "600",
                     "--json"])
    assert code == 0
    figures = last_json(capsys)
    assert figures["mode"] == "leave-one-out" and len(figures["per_file"]) == 3
    for key in ("median_accuracy", "min_accuracy", "majority_accuracy", "baseline_accuracy"):
        assert key in figures
    assert figures["min_accuracy"] > figures["majority_accuracy"]
    assert cli.main(["eval", "lineage-classifier", "--train", *paths]) == 2  # neither --test nor --leave-one-out
    assert "--leave-one-out" in capsys.readouterr().err


def test_eval_strains_json(tmp_path, capsys):
    path = tmp_path / "features.csv"
    behaviour_table(seed=1, n_per_strain=15, n_features=10).rename(columns={"strain": "worm_strain"}).to_csv(
        path, index=False)
    assert cli.main(["eval", "strains", "--table", str(path), "--json"]) == 0
    figures = last_json(capsys)
    assert figures["cv_accuracy_pc2"] > figures["chance_accuracy"]
    assert {"silhouette_pc2", "silhouette_pc10", "cv_accuracy_pc10"} <= set(figures)


@pytest.mark.parametrize("argv, message", [
    (["eval", "strains", "--table", "{tmp}/t.csv", "--label", "genotype"], "genotype"),
    (["eval", "lineage-classifier", "--train", "{tmp}/t.csv", "--test", "{tmp}/t.csv"], "lacks the column"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "t.csv").write_text("worm_strain,a\nN2,1\nCB,2\n")
    assert cli.main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err

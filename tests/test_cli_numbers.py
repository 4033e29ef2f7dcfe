"""Numeric options that no measurement can take (nan, infinite, negative) are refused before anything is read or
written, with the option's name."""
import pytest

from devocore import cli, config

NUCLEI = config.EXAMPLES_DIR / "segmentation" / "nuclei.png"
WORMS = config.EXAMPLES_DIR / "tracking" / "worms.mp4"


@pytest.mark.parametrize("argv, message", [
    (["segment", "nucleus", NUCLEI, "--pixel-size", "inf"], "--pixel-size must be a positive number, got inf."),
    (["segment", "nucleus", NUCLEI, "--pixel-size", "nan"], "--pixel-size must be a positive number, got nan."),
    (["segment", "nucleus", NUCLEI, "--labels-3d", "--z-step", "0"], "--z-step must be a positive number, got 0.0."),
    (["segment", "nucleus", NUCLEI, "--min-size", "-5"], "--min-size must be at least 0, got -5."),
    (["segment", "nucleus", NUCLEI, "--threshold", "nan"], "--threshold must be between 0 and 1, got nan."),
    (["segment", "nucleus", NUCLEI, "--zoom", "0"], "--zoom must be between 0.5 and 8, got 0.0."),
    (["track", WORMS, "--fps", "nan"], "--fps must be a positive number, got nan."),
    (["track", WORMS, "--px-per-mm", "inf"], "--px-per-mm must be a positive number, got inf."),
])
def test_an_impossible_number_is_refused_by_its_option(argv, message, tmp_path, capsys):
    # before: --pixel-size inf gave areas of inf um^2, --fps nan times and speeds of nan, --min-size -5 ran
    out = tmp_path / ("results" if argv[0] == "segment" else "track.csv")
    assert cli.main([str(a) for a in argv] + ["--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not out.exists()


@pytest.mark.parametrize("option, value, message", [
    ("--hidden", "0", "--hidden must be at least 1, got 0."),  # was "internal error (ValueError)"
    ("--epochs", "0", "--epochs must be at least 1, got 0."),  # was a forecast by an untrained network
    ("--folds", "0", "--folds must be at least 1, got 0."),  # was taken as one split without a word
    ("--models", "0", "--models must be at least 1, got 0."),
    ("--lookback", "0", "--lookback must be at least 1, got 0."),
    ("--eigenworms", "-1", "--eigenworms must be at least 0, got -1."),
])
def test_forecast_refuses_a_count_below_its_least(option, value, message, tmp_path, capsys):
    argv = ["forecast", str(config.EXAMPLES_DIR / "forecast" / "worm_series.csv"), "--target", "curvature",
            "--horizon", "5", option, value, "--out", str(tmp_path / "f.csv")]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--frame-interval", "-5", "--frame-interval must be a positive number of seconds, got -5.0."),  # was minutes < 0
    ("--frame-interval", "nan", "--frame-interval must be a positive number of seconds, got nan."),
    ("--batch-size", "0", "--batch-size must be at least 1, got 0."),
    ("--turn", "nan", "--turn must be between -360 and 360 degrees, got nan."),
])
def test_lineage_refuses_an_impossible_interval_or_batch(option, value, message, tmp_path, capsys):
    movie = config.EXAMPLES_DIR / "lineage" / "timelapse.mp4"
    assert cli.main(["lineage", str(movie), option, value, "--out", str(tmp_path / "p.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--lr", "nan", "--lr must be 0 or a positive number, got nan."),  # was "internal error (ValueError)"
    ("--batch", "0", "--batch must be at least 1, got 0."),  # was "internal error (ValueError)"
    ("--epochs", "0", "--epochs must be at least 1, got 0."),  # saved an untrained model
    ("--val-fraction", "1.5", "--val-fraction must be between 0 and 1 (a share of the files), got 1.5."),
    ("--size", "0", "--size must be a positive multiple of 32, got 0."),  # was taken as the default, 256
])
def test_training_refuses_an_impossible_setting_before_it_writes(option, value, message, tmp_path, capsys):
    out = tmp_path / "model"
    assert cli.main(["train", "nucleus", "--epochs", "1", "--steps", "1", option, value, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not out.exists()


@pytest.mark.parametrize("option, value, message", [
    ("--workers", "-1", "The number of workers must be 1 or more (0 or none: one per core), got -1."),  # hung
    ("--chunk-frames", "-3", "The frames per video range must be 0 (never split) or more, got -3."),
])
def test_batch_refuses_no_workers_before_it_starts_a_cluster(option, value, message, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "nuclei.png").write_bytes(NUCLEI.read_bytes())
    assert cli.main(["batch", str(tmp_path / "in"), "--task", "inventory", option, value,
                     "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--threshold", "2", "--threshold must be between 0 and 1, got 2.0."),  # every figure was 0
    ("--n", "0", "--n must be at least 1, got 0."),  # every figure was null
    ("--mask-threshold", "nan", "--mask-threshold must be a number, got nan."),
    ("--min-cell", "-1", "--min-cell must be at least 0, got -1."),
])
def test_eval_segmentation_refuses_an_impossible_setting(option, value, message, capsys):
    assert cli.main(["eval", "segmentation", "--task", "nucleus", option, value, "--json"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"

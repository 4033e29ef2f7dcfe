"""Every CLI command that reads a file, against every relevant bad input: exit 2 and one line, no traceback."""
import time

import pytest

from devocore import cli
from tests.badinputs import KIND, make_corpus

# command template -> kinds of bad input it reads; {f} is the bad file, {out} a fresh folder
COMMANDS = {
    "segment": (["segment", "nucleus", "{f}", "--out", "{out}"], {"image", "video"}),
    "subimages": (["subimages", "{f}", "--masks", "{f}", "--out", "{out}"], {"image"}),
    "lineage": (["lineage", "{f}", "--out", "{out}/preds.csv"], {"image", "video"}),
    "track": (["track", "{f}", "--out", "{out}/track.csv"], {"video"}),
    "forecast": (["forecast", "{f}", "--target", "value", "--horizon", "5", "--out", "{out}/f.csv"], {"table"}),
    "eval lineage-classifier": (["eval", "lineage-classifier", "--train", "{f}", "--test", "{f}"], {"table"}),
}


def available(name):
    words = name.split()
    modules = {(g, n) for g, n, _ in cli._command_modules()}
    return (None, words[0]) in modules if len(words) == 1 else (words[0], words[1]) in modules


CASES = [(command, bad) for command, (_, kinds) in COMMANDS.items() for bad in sorted(KIND)
         if KIND[bad] in kinds]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("cli_bad"))


@pytest.mark.parametrize("command,bad", CASES)
def test_command_refuses_bad_input_in_one_line(command, bad, corpus, tmp_path, capsys):
    if not available(command):
        pytest.skip(f"'{command}' is not installed")
    template, _ = COMMANDS[command]
    argv = [a.format(f=corpus[bad], out=tmp_path / "out") for a in template]
    start = time.time()
    code = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
    assert time.time() - start < 60


def test_segment_on_a_folder_of_frames_of_two_sizes_says_which_frame_and_points_to_batch(tmp_path, capsys):
    from PIL import Image
    import numpy as np

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, shape in enumerate([(64, 64), (64, 64), (48, 80)]):
        Image.fromarray(np.full(shape, 40 * (i + 1), np.uint8)).save(folder / f"f{i + 1}.png")
    code = cli.main(["segment", "nucleus", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error: "), err  # on its own line after the progress bar
    assert "Frame 3 of 'frames' is 80 x 48 px, the first is 64 x 64 px" in err[-1] and "batch" in err[-1]

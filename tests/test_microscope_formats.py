"""A microscope maker's own file (Zeiss CZI, Nikon ND2, Leica LIF, ...) is named, with the Fiji step that makes a
TIFF of it, in the CLI, Batch and the pages' upload staging; a TIFF is read by its bytes whatever its extension."""
import numpy as np
import pytest
import tifffile

from devocore import batch, cli, io
from devocore.errors import UnsupportedFormatError
from pages import common
from tests.test_stage_upload import Upload

# first bytes as the makers write them, then noise
CZI = b"ZISRAWFILE" + bytes(np.random.default_rng(0).integers(0, 255, 4000, dtype=np.uint8))
ND2 = b"\xda\xce\xbe\x0a" + bytes(np.random.default_rng(1).integers(0, 255, 4000, dtype=np.uint8))


@pytest.mark.parametrize("argv", [
    ["segment", "nucleus", "{f}", "--out", "{out}"],
    ["lineage", "{f}", "--out", "{out}/populations.csv"],
    ["track", "{f}", "--out", "{out}/track.csv"],
])
def test_each_command_names_a_czi_file_and_the_step_that_converts_it(argv, tmp_path, capsys):
    path = tmp_path / "embryo 3.czi"
    path.write_bytes(CZI)
    code = cli.main([a.format(f=path, out=tmp_path / "out") for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: 'embryo 3.czi' is a Zeiss CZI file") and "Bio-Formats" in err[0], err
    assert path.read_bytes() == CZI and not (tmp_path / "out").exists()


def test_the_first_bytes_name_the_format_when_the_name_does_not():
    with pytest.raises(UnsupportedFormatError, match="is a Nikon ND2 file.*Save As > Tiff"):
        io.read_image(ND2, name="upload")
    with pytest.raises(UnsupportedFormatError, match="first bytes match none"):  # unknown bytes: as before
        io.read_image(b"\x01\x02\x03\x04" * 100, name="upload")


def test_a_tiff_is_read_by_its_bytes_but_an_olympus_vsi_shell_is_refused_by_its_name(tmp_path):
    stack = np.arange(3 * 16 * 16, dtype=np.uint16).reshape(3, 16, 16)
    tifffile.imwrite(tmp_path / "stack.data", stack, photometric="minisblack")  # a TIFF under another name
    assert io.read_image(tmp_path / "stack.data").shape == (3, 16, 16)
    tifffile.imwrite(tmp_path / "slide.vsi", stack[0])  # a VSI is a TIFF holding an overview; the images lie elsewhere
    with pytest.raises(UnsupportedFormatError, match="'slide.vsi' is an Olympus file"):
        io.read_image(tmp_path / "slide.vsi")


def test_batch_lists_a_microscope_file_as_skipped_with_the_step(tmp_path):
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "slice.tif", np.zeros((16, 16), np.uint8))
    (tmp_path / "in" / "embryo.nd2").write_bytes(ND2)
    (tmp_path / "in" / "notes.txt").write_text("not a microscope file")
    unfit = {}
    found = batch.discover(tmp_path / "in", batch.get_task("inventory"), unfit=unfit)
    assert [p.name for p in found] == ["slice.tif"]
    assert {p.name: reason.split(",")[0] for p, reason in unfit.items()} == {"embryo.nd2": "a Nikon ND2 file"}
    assert "File > Import > Bio-Formats" in unfit[tmp_path / "in" / "embryo.nd2"]


def test_an_upload_is_refused_by_its_own_name_before_anything_is_staged(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "session_dir", lambda: tmp_path)
    with pytest.raises(UnsupportedFormatError, match="^'time-lapse.lif' is a Leica file"):
        common.stage_upload(Upload("time-lapse.lif", b"\x70\x00\x00\x00" + CZI[10:]))
    with pytest.raises(UnsupportedFormatError, match="^'b.czi' is a Zeiss CZI file"):
        common.stage_frames([Upload("a.png", b"1"), Upload("b.czi", CZI)])
    assert list(tmp_path.iterdir()) == []
    # the pages' uploaders take these files, so that the user reads this message, not "file type not allowed"
    assert {"czi", "nd2", "lif", "oib", "ims"} <= set(io.upload_types("microscope"))

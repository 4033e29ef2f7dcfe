"""GIF, BMP, WebP, JPEG 2000 and HEIC pictures are named, with the step that converts them, instead of "not a PNG,
JPEG or TIFF image (its first bytes match none of them)"."""
import io as _io

import numpy as np
import pytest
from PIL import Image

from devocore import batch, cli, io
from devocore.errors import UnsupportedFormatError


def picture(fmt: str, frames: int = 1) -> bytes:
    pixels = (np.arange(32 * 32) % 251).astype(np.uint8).reshape(32, 32)
    images = [Image.fromarray(np.roll(pixels, k, 0)) for k in range(frames)]
    out = _io.BytesIO()
    images[0].save(out, format=fmt, save_all=frames > 1, append_images=images[1:])
    return out.getvalue()


@pytest.mark.parametrize("fmt, kind", [("GIF", "a GIF image"), ("BMP", "a BMP image"), ("WEBP", "a WebP image")])
def test_a_picture_in_another_format_is_named_by_its_bytes(fmt, kind):
    with pytest.raises(UnsupportedFormatError, match=rf"^'upload' is {kind}, which Devoscope does not read: it "
                                                     r"reads PNG, JPEG and TIFF images\. Open it in Fiji"):
        io.read_image(picture(fmt), name="upload")
    assert io.picture_format("x", b"\x00\x00\x00\x0cjP  \r\n\x87\n") == "a JPEG 2000 image"
    assert io.picture_format("IMG_0001.HEIC") == "a HEIC image"
    assert io.picture_format("embryo.png", picture("PNG")) is None


@pytest.mark.parametrize("argv", [
    ["segment", "nucleus", "{f}", "--out", "{out}"],
    ["lineage", "{f}", "--out", "{out}/populations.csv"],
    ["track", "{f}", "--out", "{out}/track.csv"],
])
def test_each_command_names_an_animated_gif_and_the_step(argv, tmp_path, capsys):
    path = tmp_path / "embryo movie.gif"
    data = picture("GIF", frames=4)
    path.write_bytes(data)
    assert cli.main([a.format(f=path, out=tmp_path / "out") for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: 'embryo movie.gif' is a GIF image"), err
    assert "Tiff... keeps its frames" in err[0]
    assert path.read_bytes() == data and not (tmp_path / "out").exists()


def test_batch_lists_pictures_in_other_formats_as_skipped(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "slice.png").write_bytes(picture("PNG"))
    (tmp_path / "in" / "slice2.bmp").write_bytes(picture("BMP"))
    unfit = {}
    found = batch.discover(tmp_path / "in", batch.get_task("inventory"), unfit=unfit)
    assert [p.name for p in found] == ["slice.png"]
    assert unfit == {tmp_path / "in" / "slice2.bmp": "a BMP image, which Devoscope does not read: save it as PNG or "
                                                       "TIFF (in Fiji: File > Save As > PNG... or Tiff...)"}


def test_complex_pixels_are_refused_as_not_intensities(tmp_path, capsys):
    import tifffile

    for name, shape in (("fft.tif", (32, 32)), ("fft_stack.tif", (4, 32, 32))):
        tifffile.imwrite(tmp_path / name, np.ones(shape, np.complex64), photometric="minisblack")
        assert cli.main(["segment", "nucleus", str(tmp_path / name), "--out", str(tmp_path / "out")]) == 2
        assert capsys.readouterr().err.strip() == (f"error: '{name}' holds complex numbers (a Fourier transform?), not "
                                                   "the light intensities of a microscope image.")
        assert not (tmp_path / "out").exists()


def test_an_upload_in_another_picture_format_is_refused_by_its_name_before_anything_is_staged(tmp_path, monkeypatch):
    from pages import common
    from tests.test_stage_upload import Upload

    monkeypatch.setattr(common, "session_dir", lambda: tmp_path)
    with pytest.raises(UnsupportedFormatError, match="^'embryo.gif' is a GIF image"):
        common.stage_upload(Upload("embryo.gif", picture("GIF", frames=3)))
    with pytest.raises(UnsupportedFormatError, match="^'b.bmp' is a BMP image"):
        common.stage_frames([Upload("a.png", picture("PNG")), Upload("b.bmp", picture("BMP"))])
    assert list(tmp_path.iterdir()) == []
    # the pages' uploaders take these files, so that the user reads this message, not "file type not allowed"
    assert {"gif", "bmp", "webp", "jp2", "heic"} <= set(io.upload_types("picture"))

"""Readers: every format and every bad input, with files the tests make."""
import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from devocore import io as dio
from devocore.config import Limits
from devocore.errors import (
    DevocoreError,
    EmptyFileError,
    EmptyTableError,
    MissingColumnsError,
    NoFramesError,
    NonNumericError,
    TooLargeError,
    UnreadableFileError,
    UnsupportedFormatError,
)


def png_bytes(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def tiff_bytes(array, **kwargs):
    buf = io.BytesIO()
    tifffile.imwrite(buf, array, **kwargs)
    return buf.getvalue()


def bomb_png(width, height):
    """A valid PNG header declaring a huge image, with almost no data."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_grey_keeps_dtype_and_values(dtype):
    array = (np.arange(48).reshape(6, 8) * (1000 if dtype == np.uint16 else 5)).astype(dtype)
    image = dio.read_image(png_bytes(array), name="x.png")
    assert image.axes == "YX"
    assert image.data.dtype == dtype
    np.testing.assert_array_equal(image.data, array)


def test_png_rgb_and_rgba_become_yxc_without_alpha():
    rgba = np.zeros((5, 7, 4), np.uint8)
    rgba[..., 1] = 200
    image = dio.read_image(png_bytes(rgba), name="x.png")
    assert image.axes == "YXC" and image.data.shape == (5, 7, 3)
    assert image.data[0, 0, 1] == 200


def test_jpeg_reads(tmp_path):
    path = tmp_path / "a.jpg"
    Image.fromarray(np.full((10, 12), 128, np.uint8)).save(path, "JPEG")
    image = dio.read_image(path)
    assert image.data.shape == (10, 12) and abs(int(image.data[5, 5]) - 128) <= 2
    assert image.name == "a.jpg"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_bit_depths(dtype):
    array = np.arange(20, dtype=dtype).reshape(4, 5)
    image = dio.read_image(tiff_bytes(array), name="x.tif")
    assert image.axes == "YX" and image.data.dtype == dtype
    np.testing.assert_array_equal(image.data, array)


def test_tiff_zstack_reports_axes_and_planes():
    stack = np.random.default_rng(0).integers(0, 65535, (7, 16, 20), dtype=np.uint16)
    image = dio.read_image(tiff_bytes(stack, imagej=True, metadata={"axes": "ZYX"}), name="s.tif")
    assert image.axes == "ZYX" and image.is_stack and image.n_planes == 7
    planes = list(image.planes())
    np.testing.assert_array_equal(planes[3], stack[3])


def test_tiff_time_series_with_channels():
    movie = np.zeros((3, 2, 8, 9), np.uint8)  # T C Y X
    movie[:, 1] = 50
    image = dio.read_image(tiff_bytes(movie, imagej=True, metadata={"axes": "TCYX"}), name="m.tif")
    assert image.axes == "TYXC" and image.data.shape == (3, 8, 9, 2)
    assert image.data[0, 0, 0, 1] == 50


def test_float_tiff_nan_becomes_zero():
    array = np.ones((4, 4), np.float32)
    array[1, 1] = np.nan
    assert dio.read_image(tiff_bytes(array), name="f.tif").data[1, 1] == 0


def test_five_d_tiff_is_refused_clearly():
    array = np.zeros((2, 3, 2, 4, 5, 6), np.uint8)  # six axes, none of them colour
    with pytest.raises(UnsupportedFormatError, match="axes"):
        dio.read_image(tiff_bytes(array, photometric="minisblack"), name="five.tif")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty.png' is empty"):
        dio.read_image(path)


@pytest.mark.parametrize("maker,fmt", [
    (lambda: png_bytes(np.zeros((64, 64), np.uint8) + 7), "PNG"),
    (lambda: tiff_bytes(np.arange(4096, dtype=np.uint16).reshape(64, 64)), "TIFF"),
])
def test_truncated_images(maker, fmt):
    data = maker()
    with pytest.raises(UnreadableFileError, match=f"{fmt}.*(truncated|corrupt)"):
        dio.read_image(data[: len(data) // 2], name="cut")


def test_truncated_jpeg():
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64), dtype=np.uint8)).save(buf, "JPEG")
    with pytest.raises(UnreadableFileError, match="JPEG"):
        dio.read_image(buf.getvalue()[:200], name="cut.jpg")


def test_text_named_png():
    with pytest.raises(UnsupportedFormatError, match="not an image: it holds text"):
        dio.read_image(b"hello, I am not a picture\n", name="fake.png")


def test_unknown_binary():
    with pytest.raises(UnsupportedFormatError, match="not a PNG, JPEG or TIFF"):
        dio.read_image(bytes(range(256)), name="blob.png")


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(TooLargeError, match="100000 x 100000"):
        dio.read_image(bomb_png(100_000, 100_000), name="bomb.png")


def test_pixel_cap_is_configurable():
    small = Limits(max_pixels=100)
    with pytest.raises(TooLargeError, match="megapixels"):
        dio.read_image(png_bytes(np.zeros((20, 20), np.uint8)), name="x.png", limits=small)


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        dio.read_image(tmp_path / "nope.png")


def test_normalize_maps_any_depth_to_unit_range():
    for array in (np.array([[0, 255]], np.uint8), np.array([[100, 60000]], np.uint16),
                  np.array([[-1.5, 3.0]], np.float32)):
        out = dio.normalize(array, 0, 100)
        assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_fast_paths_equal_the_float_formulas(dtype):
    """8- and 16-bit pixels take a histogram and lookup-table path; its output is exactly the float formula."""
    rng = np.random.default_rng(3)
    top = np.iinfo(dtype).max
    for shape in ((1, 1), (7, 5), (3, 40, 30), (257, 3)):
        for high in (1, 9, top):
            array = rng.integers(0, high + 1, shape).astype(dtype)
            for low_pct, high_pct in ((1.0, 99.8), (0.0, 100.0), (37.5, 62.5)):
                as_float = array.astype(np.float32)
                lo, hi = np.percentile(as_float, [low_pct, high_pct])
                hi = hi if hi > lo else lo + 1.0
                expected = np.clip((as_float - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
                assert np.array_equal(dio.normalize(array, low_pct, high_pct), expected)
    rgb = rng.integers(0, top + 1, (4, 6, 3)).astype(dtype)
    assert np.array_equal(dio.to_gray(rgb), rgb.mean(axis=-1).round().astype(dtype))
    assert dio.to_gray(np.array([[[0, 0, 1], [0, 1, 1], [top, top, top - 1]]], dtype)).tolist() == [[0, 1, top]]


# ----------------------------------------------------------------------------- frames

def write_video(path, frames, fps=10.0):
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_video_streams_frames_with_count_and_fps(tmp_path):
    frames = [np.full((32, 48, 3), 20 * i, np.uint8) for i in range(6)]
    path = tmp_path / "v.avi"
    write_video(path, frames, fps=7)
    with dio.open_frames(path) as video:
        assert video.frame_count == 6 and video.fps == pytest.approx(7) and video.shape == (32, 48)
        means = [frame.mean() for frame in video]
    assert len(means) == 6 and means[5] > means[0] + 80


def test_plane_reader_gives_any_plane_of_a_video_or_stack_as_streaming_would(tmp_path):
    """Issue #31: the segmentation page reads one plane of a large input at a time, by index (a video by seeking);
    each is what streaming the whole input gives at that position, in grey or with its channels."""
    rng = np.random.default_rng(0)
    frames = [np.clip(rng.normal(40 * i, 20, (32, 48, 3)), 0, 255).astype(np.uint8) for i in range(6)]
    path = tmp_path / "v.avi"
    write_video(path, frames)
    with dio.open_frames(path) as video:
        streamed = list(video)
    reader = dio.PlaneReader("video", 6, 10.0, path=path)
    for i in (4, 0, 5, 2):  # any order
        assert np.array_equal(reader.plane(i, channels=True), streamed[i])
        assert np.array_equal(reader[i], dio.to_gray(streamed[i]))
    assert all(np.array_equal(a, dio.to_gray(b)) for a, b in zip(reader.each(), streamed))
    with pytest.raises(IndexError):
        reader.plane(6)
    stack = rng.integers(0, 4000, (5, 16, 24), dtype=np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, stack, imagej=True, metadata={"axes": "ZYX"})
    image = dio.read_image(buffer.getvalue(), name="s.tif")
    reader = dio.PlaneReader("stack", image.n_planes, None, image=image)
    assert np.array_equal(reader[3], stack[3]) and image._lazy.decoded == 1  # that plane's page only
    assert np.array_equal(np.stack(list(reader.each())), stack)


def test_empty_video_file(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError):
        dio.open_frames(path)


def test_garbage_video(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"not a video at all" * 100)
    with pytest.raises(UnreadableFileError):
        dio.open_frames(path)


def test_video_with_corrupt_middle_yields_the_readable_part(tmp_path):
    frames = [np.full((32, 32, 3), 10 * i, np.uint8) for i in range(20)]
    path = tmp_path / "v.avi"
    write_video(path, frames)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 4000] = b"\x00" * 4000
    path.write_bytes(bytes(data))
    try:
        video = dio.open_frames(path)
    except UnreadableFileError:
        return  # refusing the whole file with a clear error is acceptable too
    with video:
        got = sum(1 for _ in video)
    assert 0 < got <= 20


def test_frame_folder_natural_order(tmp_path):
    for i in (10, 2, 1):
        (tmp_path / f"f{i}.png").write_bytes(png_bytes(np.full((4, 4), i, np.uint8)))
    with dio.open_frames(tmp_path) as frames:
        assert [int(f[0, 0]) for f in frames] == [1, 2, 10]


def test_a_frame_folder_copied_from_a_mac_skips_its_hidden_companion_files(tmp_path):
    for i in (1, 2):
        (tmp_path / f"f{i}.png").write_bytes(png_bytes(np.full((4, 4), i, np.uint8)))
        (tmp_path / f"._f{i}.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble resource fork")
    with dio.open_frames(tmp_path) as frames:
        assert [int(f[0, 0]) for f in frames] == [1, 2] and frames.frame_numbers == [1, 2]


def test_empty_frame_folder(tmp_path):
    with pytest.raises(NoFramesError, match="no PNG"):
        dio.open_frames(tmp_path)


def test_tiff_series_as_frames(tmp_path):
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5), photometric="minisblack")
    with dio.open_frames(path) as frames:
        assert frames.frame_count == 3
        assert [int(f[0, 0]) for f in frames] == [0, 20, 40]


def test_save_upload_ignores_the_users_name(tmp_path):
    path = dio.save_upload(b"abc", "../../etc/passwd.mp4", tmp_path)
    assert path.parent == tmp_path and path.read_bytes() == b"abc"
    assert ".." not in path.name and "passwd" not in path.name


# ----------------------------------------------------------------------------- tables

EPIC = b"cellTime,cell,time,none,z,x,y,size,blot\nAB:1,AB,1,0,3.5,10,20,40,5\nP1:1,P1,1,0,4,30,20,38,6\n"


def test_epic_keeps_extra_columns_and_scales_z():
    table = dio.read_epic(EPIC, name="e.csv", z_scale=2.0)
    assert list(table["cell"]) == ["AB", "P1"]
    assert table["z"].tolist() == [7.0, 8.0]
    assert "blot" in table.columns and "cellTime" in table.columns


def test_epic_missing_columns_named():
    with pytest.raises(MissingColumnsError, match="lacks the columns z, size"):
        dio.read_epic(b"cell,time,x,y\nAB,1,2,3\n", name="e.csv")


def test_epic_non_numeric_value_named():
    with pytest.raises(NonNumericError, match="column 'x' must hold numbers, but row 3 holds 'left'"):
        dio.read_epic(b"cell,time,x,y,z,size\nAB,1,2,3,4,5\nP1,1,left,3,4,5\n", name="e.csv")


def test_nan_rows_are_dropped_not_fatal():
    table = dio.read_epic(b"cell,time,x,y,z,size\nAB,1,2,3,4,5\nP1,1,,3,4,5\n", name="e.csv")
    assert len(table) == 1


def test_header_only_table():
    with pytest.raises(EmptyTableError, match="no rows"):
        dio.read_epic(b"cell,time,x,y,z,size\n", name="e.csv")


def test_empty_table_file():
    with pytest.raises(EmptyFileError):
        dio.read_table(b"", name="e.csv")


def test_non_utf8_table_reads_as_latin1():
    table = dio.read_table("name,value\ncaf\xe9,1\n".encode("latin-1"), name="t.csv", numeric=["value"])
    assert table.loc[0, "name"] == "café"


def test_binary_file_as_table():
    with pytest.raises(UnreadableFileError, match="binary"):
        dio.read_table(png_bytes(np.zeros((4, 4), np.uint8)), name="t.csv")


def test_row_limit():
    data = b"a\n" + b"1\n" * 50
    with pytest.raises(TooLargeError, match="more than 10 rows"):
        dio.read_table(data, name="t.csv", limits=Limits(max_rows=10))


# ----------------------------------------------------------------------------- archives

def zip_bytes(entries):
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    return buf.getvalue()


def test_zip_extracts_inside_the_folder(tmp_path):
    written = dio.extract_zip(zip_bytes({"a/b.txt": b"hi", "c.png": b"x"}), tmp_path, name="z.zip")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == ["a/b.txt", "c.png"]


def test_zip_path_traversal_is_refused_and_nothing_written(tmp_path):
    from devocore.errors import UnsafePathError
    dest = tmp_path / "out"
    with pytest.raises(UnsafePathError, match=r"'\.\./x'"):
        dio.extract_zip(zip_bytes({"ok.txt": b"1", "../x": b"evil"}), dest, name="z.zip")
    assert not (tmp_path / "x").exists() and not (dest / "ok.txt").exists()


def test_zip_with_a_file_and_a_folder_of_one_name_is_refused_before_writing(tmp_path):
    dest = tmp_path / "out"
    with pytest.raises(UnreadableFileError, match="both a file and a folder named 'a'"):
        dio.extract_zip(zip_bytes({"ok.txt": b"1", "a": b"file", "a/b.txt": b"in folder"}), dest, name="z.zip")
    assert not dest.exists() or not any(dest.iterdir())


def test_zip_entry_blocked_by_an_existing_file_gets_a_clear_message(tmp_path):
    (tmp_path / "a").write_bytes(b"the user's file")
    with pytest.raises(UnreadableFileError, match="'a/b.txt' could not be extracted"):
        dio.extract_zip(zip_bytes({"a/b.txt": b"x"}), tmp_path, name="z.zip")
    assert (tmp_path / "a").read_bytes() == b"the user's file"


def test_zip_bomb_is_refused(tmp_path):
    with pytest.raises(TooLargeError, match="ZIP bomb"):
        dio.extract_zip(zip_bytes({"zeros.bin": b"\x00" * 20_000_000}), tmp_path, name="bomb.zip")


def test_not_a_zip(tmp_path):
    with pytest.raises(UnreadableFileError, match="not a readable ZIP"):
        dio.extract_zip(b"PK but not really", tmp_path, name="z.zip")


def test_zip_of_frames_is_laid_out_flat_in_natural_order(tmp_path):
    entries = {f"movie/f{i}.png": png_bytes(np.full((4, 4), i, np.uint8)) for i in (10, 2, 1)}
    entries["notes.txt"] = b"ignored"
    folder = dio.extract_zip_frames(zip_bytes(entries), tmp_path / "frames", name="z.zip")
    with dio.open_frames(folder) as frames:
        assert [int(f[0, 0]) for f in frames] == [1, 2, 10]
    with pytest.raises(NoFramesError, match="holds no PNG"):
        dio.extract_zip_frames(zip_bytes({"a.txt": b"x"}), tmp_path / "none", name="z.zip")


def test_a_zip_of_numbered_frames_keeps_their_numbers_and_gaps(tmp_path):
    entries = {f"run/{n:05d}.png": png_bytes(np.full((4, 4), n % 256, np.uint8)) for n in (700, 701, 705)}
    folder = dio.extract_zip_frames(zip_bytes(entries), tmp_path / "frames", name="z.zip")
    with dio.open_frames(folder) as frames:
        assert frames.numbering == "file names" and frames.frame_numbers == [700, 701, 705]
        assert [int(f[0, 0]) for f in frames] == [700 % 256, 701 % 256, 705 % 256]
    entries = {f"run/worm_{c}.png": png_bytes(np.full((4, 4), i, np.uint8)) for i, c in enumerate("cab")}
    folder = dio.extract_zip_frames(zip_bytes(entries), tmp_path / "unnumbered", name="z.zip")
    with dio.open_frames(folder) as frames:  # names without numbers stay numbered by position
        assert frames.numbering == "position" and [int(f[0, 0]) for f in frames] == [1, 2, 0]


def _lie_about_size(data: bytes, name: bytes, size: int) -> bytes:
    """``data`` (a ZIP) with the sizes declared for entry ``name`` (local and central headers) set to ``size``."""
    data = bytearray(data)
    for magic, name_len_at, size_at, name_at in ((b"PK\x03\x04", 26, 22, 30), (b"PK\x01\x02", 28, 24, 46)):
        at = data.find(magic)
        while at >= 0:
            length = struct.unpack("<H", data[at + name_len_at: at + name_len_at + 2])[0]
            if data[at + name_at: at + name_at + length] == name:
                data[at + size_at: at + size_at + 4] = struct.pack("<I", size)
            at = data.find(magic, at + 4)
    return bytes(data)


@pytest.mark.parametrize("compression", ["stored", "deflated"])
def test_zip_entry_that_lies_about_its_size_leaves_nothing_behind(tmp_path, compression):
    import zipfile

    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if compression == "stored" else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", method) as archive:
        archive.writestr("a.txt", b"A" * 1000)
        archive.writestr("sub/b.txt", bytes(range(256)) * 20)
    liar = _lie_about_size(buf.getvalue(), b"sub/b.txt", 100)
    dest = tmp_path / "out"
    with pytest.raises(UnreadableFileError if compression == "stored" else (UnreadableFileError, TooLargeError),
                       match="nothing was extracted"):
        dio.extract_zip(liar, dest, name="liar.zip")
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "mine.txt").write_text("the user's file")
    with pytest.raises(DevocoreError):
        dio.extract_zip(liar, tmp_path / "kept", name="liar.zip")
    assert sorted(p.name for p in (tmp_path / "kept").rglob("*")) == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def test_tiff_with_more_planes_than_the_frame_limit_is_refused_from_the_header():
    data = tiff_bytes(np.zeros((25_000, 2, 2), np.uint8))
    with pytest.raises(TooLargeError, match="25,000 planes"):
        dio.read_image(data, name="many.tif", limits=Limits())


def test_tiff_over_the_decoded_memory_limit_is_refused():
    with pytest.raises(TooLargeError, match="once decoded"):
        dio.read_image(tiff_bytes(np.zeros((4, 256, 256), np.float32), photometric="minisblack"), name="f.tif",
                       limits=Limits(max_decoded_mb=0))


def test_truncated_imagej_stack_says_how_many_planes_and_is_refused(caplog):
    stack = (np.arange(10 * 32 * 32) % 60000).astype(np.uint16).reshape(10, 32, 32)
    data = tiff_bytes(stack, imagej=True)
    with caplog.at_level("DEBUG"):
        with pytest.raises(UnreadableFileError, match="only 1 of its 10 planes"):
            dio.read_image(data[: len(data) // 2], name="half.tif")
    assert not [r for r in caplog.records if r.name.startswith("tifffile")]  # no library noise on the terminal


def test_multipage_tiff_cut_at_a_page_is_refused():
    import tifffile

    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as writer:
        for index in range(10):
            writer.write(np.full((16, 16), index, np.uint8), metadata=None)
    data = buf.getvalue()
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        cut = tif.pages[6].offset
    with pytest.raises(UnreadableFileError, match="6 plane"):
        dio.read_image(data[:cut], name="cut.tif")


def _two_series(second_shape) -> bytes:
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as writer:  # each write is its own series, as a multi-position file holds them
        writer.write(np.full((3, 32, 32), 7, np.uint8), photometric="minisblack", metadata={"axes": "ZYX"})
        writer.write(np.full(second_shape, 200, np.uint8), photometric="minisblack", metadata={"axes": "YX"})
    return buf.getvalue()


def test_tiff_of_two_full_size_series_is_refused_not_read_as_its_first():
    with tifffile.TiffFile(io.BytesIO(_two_series((32, 32)))) as tif:
        assert len(tif.series) == 2  # the file really holds two series
    with pytest.raises(UnsupportedFormatError, match="2 separate image series.*one series per file"):
        dio.read_image(_two_series((32, 32)), name="positions.tif")


def test_tiff_with_a_thumbnail_series_gives_its_main_image():
    image = dio.read_image(_two_series((8, 8)), name="with_thumbnail.tif")
    assert image.shape == (3, 32, 32) and int(image.data.max()) == 7


def test_tiff_stack_written_one_plane_at_a_time_is_one_stack(tmp_path):
    path = tmp_path / "loop.tif"
    with tifffile.TiffWriter(path) as writer:  # the usual loop; tifffile stores each call as its own series
        for index in range(6):
            writer.write(np.full((16, 24), 10 * index, np.uint16))
    with tifffile.TiffFile(path) as tif:
        assert len(tif.series) == 6
    for source in (path, path.read_bytes()):
        image = dio.read_image(source, name="loop.tif")
        assert image.is_stack and image.n_planes == 6 and image.shape == (6, 16, 24)
        assert [int(plane.max()) for plane in image.planes()] == [0, 10, 20, 30, 40, 50]


def test_the_pixel_size_an_ome_or_imagej_tiff_states_is_read_and_none_where_it_states_none():
    planes = np.zeros((3, 16, 16), np.uint8)
    ome, imagej, nanometres, bare = (io.BytesIO() for _ in range(4))
    tifffile.imwrite(ome, planes, ome=True, metadata={"axes": "ZYX", "PhysicalSizeX": 0.09, "PhysicalSizeZ": 0.42})
    tifffile.imwrite(imagej, planes, imagej=True, resolution=(10.0, 10.0), metadata={"unit": "micron",
                                                                                     "axes": "ZYX"})
    tifffile.imwrite(nanometres, planes, imagej=True, resolution=(0.01, 0.01), metadata={"unit": "nm", "axes": "ZYX"})
    tifffile.imwrite(bare, planes, imagej=True, metadata={"axes": "ZYX"})
    read = [dio.read_image(b.getvalue(), name="s.tif") for b in (ome, imagej, nanometres, bare)]
    assert [(i.pixel_size_um, i.z_step_um) for i in read] == [(0.09, 0.42), (0.1, None), (0.1, None), (None, None)]


def test_ffmpeg_noise_stays_off_the_terminal(tmp_path):
    import subprocess
    import sys

    from tests.badinputs import _video

    path = tmp_path / "broken.avi"
    _video(path, 40)  # as corrupt_middle.avi in the bad-input corpus: FFmpeg complains about frame 20
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 3000] = bytes(3000)
    path.write_bytes(bytes(data))
    code = f"from devocore import io; print(sum(1 for _ in io.open_frames({str(path)!r})))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=str(Path(__file__).resolve().parents[1]),  # the repository
                          env={k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"})
    assert proc.returncode == 0 and int(proc.stdout) > 0
    assert "@ 0x" not in proc.stderr and "No JPEG data" not in proc.stderr, proc.stderr


def test_table_with_millions_of_columns_is_refused_before_parsing():
    import time

    header = ",".join(f"c{i}" for i in range(1_500_000))  # about 13 MB in one header line
    data = (header + "\n" + ",".join("1" * 1 for _ in range(3)) + "\n").encode()
    start = time.time()
    with pytest.raises(TooLargeError, match="1,500,000 columns"):
        dio.read_table(data, name="wide.csv", limits=Limits())
    assert time.time() - start < 3


def test_stale_session_folders_are_removed_and_fresh_ones_kept(tmp_path):
    import time

    old, fresh, other = tmp_path / "devoscope-session-old", tmp_path / "devoscope-session-new", tmp_path / "mine"
    for folder in (old, fresh, other):
        folder.mkdir()
        (folder / "upload.png").write_bytes(b"x")
    day_ago = time.time() - 2 * 86400
    for path in (old, old / "upload.png", other, other / "upload.png"):
        os.utime(path, (day_ago, day_ago))
    removed = dio.remove_stale_folders(tmp_path, "devoscope-session-", 86400)
    assert removed == [old] and not old.exists() and fresh.exists() and other.exists()


def test_png_over_the_decoded_memory_limit_is_refused():
    with pytest.raises(TooLargeError, match="once decoded"):
        dio.read_image(png_bytes(np.zeros((300, 300, 3), np.uint8)), name="x.png", limits=Limits(max_decoded_mb=0))


def test_a_time_lapse_reader_refuses_a_stack_of_time_points_and_slices_but_reads_either_alone(tmp_path):
    hyper = tmp_path / "hyper.tif"
    tifffile.imwrite(hyper, np.zeros((2, 3, 8, 8), np.uint8), imagej=True, metadata={"axes": "TZYX"})
    with pytest.raises(UnsupportedFormatError, match="2 time points of 3 z-slices"):
        dio.open_frames(hyper, time_lapse=True)
    with dio.open_frames(hyper) as planes:  # segmentation reads every plane
        assert planes.frame_count == 6
    slices = tmp_path / "slices.tif"  # a time-lapse Fiji saved as slices
    tifffile.imwrite(slices, np.zeros((4, 8, 8), np.uint8), imagej=True, metadata={"axes": "ZYX"})
    with dio.open_frames(slices, time_lapse=True) as frames:
        assert frames.frame_count == 4


def test_a_folder_of_z_stacks_is_refused_as_frames_unless_a_time_lapse_projects_them(tmp_path):
    # before, the first stack's slices were taken for rows: `segment` said "'tz' has 64 channels" and `track`
    # "frames are 64 x 8 pixels"
    stacks = np.arange(2 * 3 * 4 * 5, dtype=np.uint16).reshape(2, 3, 4, 5) % 17
    for t, stack in enumerate(stacks, start=1):
        tifffile.imwrite(tmp_path / f"t{t}.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    for time_lapse in (False, True):
        with pytest.raises(UnsupportedFormatError, match=r"^'t1.tif' in '\w+' is a stack \(3 planes\); a folder of "
                                                         r"frames must hold single images.*Batch"):
            dio.open_frames(tmp_path, time_lapse=time_lapse)
    with dio.open_frames(tmp_path, time_lapse=True, project=True) as frames:
        assert (frames.frame_count, frames.shape, frames.slices) == (2, (4, 5), 3)
        projected = [frame.tolist() for frame in frames]
        assert projected == [stack.max(axis=0).tolist() for stack in stacks]
        assert [f.tolist() for f in dio.frames_at(frames, [1])] == projected[1:]


@pytest.mark.parametrize("compression", ["tiff_lzw", "tiff_adobe_deflate", "packbits"])
def test_compressed_tiffs_are_read_with_their_pixels(tmp_path, compression):
    # before, an LZW TIFF (as microscope software and Bio-Formats export them) was refused as "truncated or corrupt":
    # tifffile decodes LZW only through imagecodecs, which was not installed
    grey16 = np.random.default_rng(0).integers(0, 4096, (40, 50)).astype(np.uint16)  # a 12-bit camera's range
    Image.fromarray(grey16).save(tmp_path / "plane.tif", compression=compression)
    assert np.array_equal(dio.read_image(tmp_path / "plane.tif").data, grey16)


def test_an_lzw_stack_is_read_plane_by_plane_and_a_missing_codec_is_named(tmp_path, monkeypatch):
    stack = np.random.default_rng(1).integers(0, 255, (4, 30, 20)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "stack.tif", stack, compression="lzw", imagej=True, metadata={"axes": "ZYX"})
    assert np.array_equal(np.stack(list(dio.read_image(tmp_path / "stack.tif").planes())), stack)

    def without_codec(self, *args, **kwargs):  # what tifffile raises where imagecodecs is missing
        raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", without_codec)
    with pytest.raises(UnreadableFileError, match=r"plane 1 of 4 cannot be decoded; it is compressed \(LZW\) and "
                                                  r"the imagecodecs package .* is not installed"):
        list(dio.read_image(tmp_path / "stack.tif").planes())


def test_a_damaged_png_is_named_without_python_object_addresses():
    # before: "... truncated or corrupt (cannot identify image file <_io.BytesIO object at 0x7fe7927e9e40>)."
    with pytest.raises(UnreadableFileError) as caught:
        dio.read_image(b"\x89PNG\r\n\x1a\n" + bytes(30), name="f003.png")
    assert str(caught.value) == ("'f003.png' looks like a PNG file but cannot be decoded; it may be truncated or "
                                 "corrupt (cannot identify image file).")


def test_a_folder_whose_images_lie_in_subfolders_says_where(tmp_path):
    # before: "Folder 'experiment' has no PNG, JPEG or TIFF images." while 'embryo 1' inside held the frames
    (tmp_path / "experiment" / "embryo 1").mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(tmp_path / "experiment" / "embryo 1" / f"t{i:03d}.png"), np.zeros((16, 16), np.uint8))
    with pytest.raises(NoFramesError, match=r"^Folder 'experiment' has no PNG, JPEG or TIFF images; its subfolder "
                                            r"'embryo 1' holds images: give that folder, or use Batch"):
        dio.FolderFrames(tmp_path / "experiment")
    (tmp_path / "experiment" / "embryo 2").mkdir()
    cv2.imwrite(str(tmp_path / "experiment" / "embryo 2" / "t000.png"), np.zeros((16, 16), np.uint8))
    with pytest.raises(NoFramesError, match=r"'embryo 1' \(and 1 other subfolder\) holds images"):
        dio.FolderFrames(tmp_path / "experiment")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoFramesError, match=r"^Folder 'empty' has no PNG, JPEG or TIFF images\.$"):
        dio.FolderFrames(tmp_path / "empty")

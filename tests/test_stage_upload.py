"""pages.common.stage_upload / stage_frames: uploads land in the session folder under names made from their content."""
import io
import zipfile

import pytest

from devocore.errors import UnsafePathError, UnsupportedFormatError
from devocore.io import numbers_from_names
from pages import common


class Upload:
    """Stands in for streamlit's UploadedFile (a name and the bytes)."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _session(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "session_dir", lambda: tmp_path)


def test_a_file_keeps_only_a_clean_suffix_and_is_written_once(tmp_path):
    path = common.stage_upload(Upload("../../evil name.MP4", b"abc"))
    assert path.parent == tmp_path and path.suffix == ".mp4" and "evil" not in path.name
    assert path.read_bytes() == b"abc"
    assert common.stage_upload(Upload("other.mp4", b"abc")) == path  # same content: same path
    assert common.stage_upload(Upload("other.mp4", b"abd")) != path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, common.stage_upload(
        Upload("x.mp4", b"abd")).name])  # no stray temporary files


def test_a_zip_is_extracted_safely_and_frames_are_laid_out_flat(tmp_path):
    folder = common.stage_upload(Upload("data.zip", _zip({"images/a.png": b"1", "masks/a.png": b"2"})), kind="zip")
    assert (folder / "images" / "a.png").read_bytes() == b"1" and (folder / "masks" / "a.png").read_bytes() == b"2"
    with pytest.raises(UnsafePathError):
        common.stage_upload(Upload("bad.zip", _zip({"../x.png": b"1"})), kind="zip")
    frames = common.stage_upload(Upload("f.zip", _zip({"s/b10.png": b"10", "s/b2.png": b"2"})), kind="frames")
    assert [p.read_bytes() for p in sorted(frames.iterdir())] == [b"2", b"10"]


def test_several_images_become_frames_in_natural_order():
    folder = common.stage_frames([Upload("t10.png", b"10"), Upload("t9.png", b"9")])
    # names that all carry rising numbers keep them: the frames stay frames 9 and 10
    assert [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())] == [
        ("frame000009.png", b"9"), ("frame000010.png", b"10")]
    folder = common.stage_frames([Upload("late.png", b"2"), Upload("early.png", b"1")])
    assert [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())] == [
        ("frame_aaaa.png", b"1"), ("frame_aaab.png", b"2")]
    assert numbers_from_names(sorted(folder.iterdir())) is None  # numbered by position, as the uploads were
    with pytest.raises(UnsupportedFormatError):
        common.stage_frames([Upload("a.png", b"1"), Upload("b.mp4", b"2")])


def test_messages_name_a_staged_upload_by_the_name_the_user_gave():
    # the pages showed "'frames-c218d134af3cb721' ..." and "'upload-<digest>.tif' ..." in notes and errors
    single = common.stage_upload(Upload("embryo 3.tif", b"II*\x00 a tiff"))
    frames = common.stage_upload(Upload("stacks.zip", _zip({"t000.tif": b"1", "t001.tif": b"2"})), kind="frames")
    several = common.stage_frames([Upload("t2.png", b"2"), Upload("t1.png", b"1")])
    assert common.as_uploaded(f"'{single.name}' holds 12 time points; '{frames.name}' and '{several.name}'") == \
        "'embryo 3.tif' holds 12 time points; 'stacks.zip' and 't1.png ... t2.png'"

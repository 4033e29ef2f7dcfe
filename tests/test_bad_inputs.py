"""Every reader against every relevant bad input: a DevocoreError with a message, never anything else."""
import pytest

from devocore import io as dio
from devocore.config import Limits
from devocore.errors import DevocoreError, TooLargeError
from tests.badinputs import KIND, VALID_ODD, make_corpus, ten_million_rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("bad"))


def read(kind, path, tmp_path):
    if kind == "image":
        return dio.read_image(path)
    if kind == "video":
        with dio.open_frames(path) as frames:
            return sum(1 for _ in frames)
    if kind == "table":
        return dio.read_epic(path)
    if kind == "zip":
        return dio.extract_zip(path, tmp_path / "x")
    raise AssertionError(kind)


@pytest.mark.parametrize("name", sorted(KIND))
def test_bad_input_gives_a_clear_error(corpus, name, tmp_path):
    with pytest.raises(DevocoreError) as info:
        read(KIND[name], corpus[name], tmp_path)
    message = str(info.value)
    assert len(message) > 15 and "Traceback" not in message
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").rglob("*"))


@pytest.mark.parametrize("name", sorted(VALID_ODD))
def test_odd_but_valid_input_is_read(corpus, name, tmp_path):
    result = read(VALID_ODD[name], corpus[name], tmp_path)
    assert result is not None


def test_ten_million_rows_refused_quickly(tmp_path):
    import time

    path = ten_million_rows(tmp_path / "big.csv")
    start = time.time()
    with pytest.raises(TooLargeError, match="more than 5,000,000 rows"):
        dio.read_epic(path, limits=Limits())
    assert time.time() - start < 10

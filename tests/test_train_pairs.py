"""Data checks for training on the user's own images: clear errors, files untouched."""
import hashlib

import numpy as np
import pytest
from PIL import Image

from devocore.train.pairs import PairError, check_pairs, match_pairs


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def folders(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        save(tmp_path / "img" / f"emb_{i}.png", rng.integers(0, 255, (32, 40), dtype=np.uint8))
        mask = np.zeros((32, 40), np.uint8)
        mask[5:15, 5:20] = 255
        save(tmp_path / "mask" / f"emb_{i}_mask.png", mask)
    return tmp_path / "img", tmp_path / "mask"


def test_pairs_match_by_name_and_check(folders):
    before = [digest(f) for f in folders]
    pairs = match_pairs(*folders)
    assert [p.key for p in pairs] == ["emb_0", "emb_1", "emb_2"]
    report = check_pairs(pairs)
    assert report.n_pairs == 3 and report.max_labels == 1
    assert report.foreground_fraction == pytest.approx(150 / 1280)
    assert [digest(f) for f in folders] == before


def test_unmatched_names_are_listed(folders):
    images, masks = folders
    save(images / "extra.png", np.zeros((32, 40), np.uint8))
    (masks / "emb_2_mask.png").rename(masks / "other_mask.png")
    with pytest.raises(PairError, match=r"2 image\(s\) have no mask: emb_2.png, extra.png; 1 mask\(s\) have no "
                                        r"image: other_mask.png"):
        match_pairs(images, masks)


def test_mask_of_the_wrong_size(folders):
    images, masks = folders
    save(masks / "emb_1_mask.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(PairError, match="Mask 'emb_1_mask.png' is 16 x 16 pixels but its image"):
        check_pairs(match_pairs(images, masks))


def test_many_labels_when_binary_was_chosen(folders):
    images, masks = folders
    labels = (np.arange(32 * 40).reshape(32, 40) % 300).astype(np.uint16)
    save(masks / "emb_0_mask.png", labels)
    with pytest.raises(PairError, match="300 different values, but a binary mask"):
        check_pairs(match_pairs(images, masks), binary=True)
    assert check_pairs(match_pairs(images, masks), binary=False).max_labels == 299


def test_empty_folder(tmp_path, folders):
    (tmp_path / "none").mkdir()
    with pytest.raises(PairError, match="has no PNG, JPEG or TIFF"):
        match_pairs(tmp_path / "none", folders[1])

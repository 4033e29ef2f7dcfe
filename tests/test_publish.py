"""registry.publish / model_name: the one way the views save a user model."""
import json

import pytest

from devocore import config, registry
from devocore.errors import ModelError


@pytest.fixture()
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path / "user"))
    monkeypatch.setattr(config, "SHIPPED_MODEL_DIR", tmp_path / "shipped")
    (tmp_path / "shipped" / "nucleus").mkdir(parents=True)
    (tmp_path / "shipped" / "nucleus" / registry.CARD).write_text(json.dumps({"task": "segmentation"}))
    trained = tmp_path / "run"
    trained.mkdir()
    (trained / registry.CARD).write_text(json.dumps({"task": "segmentation", "name": "run"}))
    (trained / registry.WEIGHTS).write_bytes(b"w")
    return tmp_path, trained


def test_publish_copies_the_folder_and_names_the_card(folders):
    root, trained = folders
    info = registry.publish(trained, " mine ")
    assert info.folder == root / "user" / "mine" and info.source == "user"
    assert json.loads((info.folder / registry.CARD).read_text())["name"] == "mine"
    assert (info.folder / registry.WEIGHTS).read_bytes() == b"w"
    assert json.loads((trained / registry.CARD).read_text())["name"] == "run"  # the source is left as it was
    assert "mine" in {m.name for m in registry.list_models()}


def test_publish_refuses_taken_shipped_and_bad_names(folders):
    _root, trained = folders
    registry.publish(trained, "mine")
    with pytest.raises(ModelError, match="exists already"):
        registry.publish(trained, "mine")
    assert registry.publish(trained, "mine", replace=True).name == "mine"
    with pytest.raises(ModelError, match="exists already"):
        registry.publish(trained, "nucleus", replace=True)  # a shipped name, never
    for bad in ("", "../x", "a/b", ".hidden", "with space"):
        with pytest.raises(ModelError, match="Use letters"):
            registry.publish(trained, bad)

"""Security rules as tests (issue 12): grep-style checks over the source, plus a few behavioural ones.

- no ``unsafe_allow_html=True`` anywhere in the UI (so never with user content);
- no unpickling: ``torch.load``, ``pickle.load(s)``, ``joblib.load``, ``allow_pickle=True``;
- weights only as safetensors whose sha256 the card states (and matches);
- uploaded file names never become paths; ZIPs are only read by ``devocore.io.extract_zip``;
- pages write only under the per-session folder (or the user model folder);
- no private keys or tokens in the repository;
- the upload limit of ``.streamlit/config.toml`` is ``Limits.upload_mb`` and every upload shows the limits.
"""
import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from devocore import registry
from devocore.config import ROOT, SHIPPED_MODEL_DIR, Limits

PAGES = sorted((ROOT / "pages").glob("*.py"))
UI_FILES = PAGES + [ROOT / "app.py"]
ENGINE_FILES = sorted((ROOT / "devocore").rglob("*.py"))


def _code_lines(files):
    """(file, line number, line) of every non-comment line."""
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.lstrip().startswith("#"):
                yield path.relative_to(ROOT) if path.is_relative_to(ROOT) else path, number, line


def _hits(pattern, files):
    regex = re.compile(pattern)
    return [f"{path}:{number}: {line.strip()}" for path, number, line in _code_lines(files) if regex.search(line)]


def test_the_checks_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('st.markdown(f"<b>{upload.name}</b>", unsafe_allow_html=True)\nx = torch.load(path)\n')
    assert _hits(r"unsafe_allow_html\s*=\s*True", [bad])
    assert _hits(UNPICKLING, [bad])


def test_no_unsafe_html_in_the_ui():
    assert not _hits(r"unsafe_allow_html\s*=\s*True", UI_FILES)
    assert not _hits(r"st\.html\(|components\.html\(", UI_FILES)


UNPICKLING = r"torch\.load\(|torch\.jit\.load\(|pickle\.loads?\(|joblib\.load\(|dill\.|allow_pickle\s*=\s*True|cloudpickle"


def test_nothing_is_ever_unpickled():
    assert not _hits(UNPICKLING, UI_FILES + ENGINE_FILES)


def test_weights_are_read_only_by_safetensors_in_the_registry():
    loaders = _hits(r"safetensors\.torch\.load|load_file\(|safe_open\(", ENGINE_FILES)
    assert loaders, "the registry must read weights with safetensors"
    assert not _hits(r"\.pt\b['\"]|\.pth\b['\"]|\.ckpt\b['\"]|\.pkl\b['\"]", ENGINE_FILES + UI_FILES)


def test_shipped_models_are_safetensors_with_a_matching_checksum():
    folders = [p for p in SHIPPED_MODEL_DIR.iterdir() if p.is_dir()] if SHIPPED_MODEL_DIR.exists() else []
    for folder in folders:
        files = {p.name for p in folder.iterdir() if p.is_file()}
        assert files <= {"weights.safetensors", "card.json", "README.md", "curves.csv", "thresholds.json"}, \
            f"{folder.name}: unexpected files {sorted(files)}"
        card = json.loads((folder / "card.json").read_text())
        assert card.get("sha256") == registry.sha256(folder / "weights.safetensors"), folder.name
        # the card names its data, their terms and the command that made it (README, "Data and credits")
        for key in ("training_data", "data_terms", "training_command"):
            assert str(card.get(key) or "").strip(), f"{folder.name}: card has no {key}"
    assert not [p for p in ROOT.joinpath("assets").rglob("*") if p.suffix in {".pt", ".pth", ".ckpt", ".pkl", ".npy"}]


def test_uploaded_names_are_never_used_as_paths():
    # an upload's name may give a suffix or a caption, never a path component
    hits = _hits(r"(/|Path\(|open\(|os\.path\.join\([^)]*)\s*\w*upload\w*(\[\d+\])?\.name\b(?!\)\.suffix)", PAGES)
    assert not hits


def test_zips_are_read_only_by_devocore_io_extract_zip():  # (in devocore/io/files.py)
    readers = [h for h in _hits(r"ZipFile\(", UI_FILES + ENGINE_FILES) if not re.search(r"ZipFile\([^)]*['\"]w['\"]", h)]
    assert [h for h in readers if not h.startswith("devocore/io/files.py")] == []
    assert not _hits(r"\.extractall\(|\.extract\(", UI_FILES + ENGINE_FILES)


# Pages may create temporary files only through pages.common.session_dir (or devocore.io.save_upload);
# these exceptions write no user data: a scratch folder deleted at once, and a cache of generated examples.
TEMP_ALLOWED = {
    "pages/common.py": "session_dir() itself",
    "pages/simulator.py": "TemporaryDirectory for the simulator's own video, deleted at once",
    "pages/train.py": "a cache of the simulated example pairs (generated, no user data)",
    "pages/train_channels.py": "a cache of the simulated multi-channel examples (generated, no user data)",
}


def test_pages_write_only_under_the_session_folder():
    temp = {str(p).split(":")[0] for p in _hits(r"tempfile\.|mkdtemp|gettempdir", PAGES)}
    assert temp <= set(TEMP_ALLOWED), sorted(temp - set(TEMP_ALLOWED))
    assert not _hits(r"Path\.home\(\)|Path\.cwd\(\)|os\.getcwd\(|expanduser\(", PAGES)
    for path, number, line in _code_lines(PAGES):
        if re.search(r"\.write_bytes\(|\.write_text\(|open\([^)]*['\"][wa]b?['\"]", line):
            text = (ROOT / path).read_text()
            assert "session_dir()" in text or "save_upload" in text, f"{path}:{number} writes outside session_dir"


SECRETS = {
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "AWS key": r"\bAKIA[0-9A-Z]{16}\b",
    "GitHub token": r"\b(ghp|gho|ghs|ghu)_[A-Za-z0-9]{36}\b|github_pat_[A-Za-z0-9_]{40,}",
    "Slack token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "OpenAI-style key": r"\bsk-[A-Za-z0-9]{32,}",
    "Hugging Face token": r"\bhf_[A-Za-z0-9]{30,}",
    "Google API key": r"\bAIza[0-9A-Za-z_-]{35}\b",
    "password assignment": r"(?i)\b(password|passwd|secret|api_key|token)\s*=\s*['\"][^'\"\s]{8,}['\"]",
}


def _tracked_text_files():
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for name in names.splitlines():
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 2_000_000:
            try:
                yield name, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def test_no_secrets_in_the_repository():
    assert re.search(SECRETS["private key"], "-----BEGIN RSA " + "PRIVATE KEY-----")  # the check can fail
    found = []
    for name, text in _tracked_text_files():
        base = Path(name).name
        if base in {".env", "id_rsa", "id_ed25519", "credentials.json"} or base.endswith((".pem", ".key", ".p12")):
            found.append(f"{name}: a credentials file")
        found += [f"{name}: {what}" for what, pattern in SECRETS.items() if re.search(pattern, text)]
    assert not found


def test_streamlit_upload_limit_mirrors_limits():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == Limits().upload_mb


@pytest.mark.parametrize("page", [p for p in PAGES if "file_uploader(" in p.read_text()], ids=lambda p: p.stem)
def test_every_upload_shows_the_limits(page):
    text = page.read_text()
    assert re.search(r"limits_caption\((\"(image|stack|video|table)\"(, )?)*\)", text)
    assert "guard(" in text, "reading an upload must be wrapped in pages.common.guard"


def test_the_limits_line_names_only_what_applies_to_the_page():
    from streamlit.testing.v1 import AppTest

    def caption(*kinds):
        app = AppTest.from_string(f"from pages import common\ncommon.limits_caption(*{kinds!r})").run()
        return app.caption[0].value

    table = caption("table")
    assert table.startswith("Limits: upload size") and "rows per table" in table and "pixels" not in table
    assert "rows per table" not in caption("image", "stack", "video") and "frames per video" in caption("video")

"""Models by name: a folder with ``weights.safetensors`` and ``card.json``.

Shipped models live in ``assets/models/<name>/``; models the user trains go to
:func:`devocore.config.user_model_dir` (``DEVOCORE_MODEL_DIR``). The card says
what the model is and how to rebuild it::

    {"name": "nucleus", "task": "segmentation", "architecture": "fpn",
     "config": {"encoder": "resnet18", "in_channels": 1, "classes": 1},
     "input_size": 256, "training_data": "...", "training_command": "...",
     "metrics": {...}, "version": "1", "sha256": "<of weights.safetensors>"}

Weights are only ever read with safetensors, after their sha256 is checked.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from devocore import config
from devocore.errors import ModelError

log = logging.getLogger(__name__)

WEIGHTS = "weights.safetensors"
CARD = "card.json"
# A card's ``data_terms`` for a model trained on Devoscope's simulators only.
SIMULATED_DATA_TERMS = ("its training images were simulated by Devoscope, not taken from a microscope; the data behind "
                        "the simulator and their terms are listed under 'Data and credits' in Devoscope's README. "
                        "Cite them where you report results.")


@dataclass(frozen=True)
class ModelInfo:
    """A model folder found on disk.

    Attributes:
        name: the folder's name, used to ask for the model.
        folder: where it lives.
        card: the parsed card.json.
        source: "shipped" or "user".
    """

    name: str
    folder: Path
    card: dict
    source: str

    @property
    def task(self) -> str:
        return self.card.get("task", "")

    @property
    def weights(self) -> Path:
        return self.folder / WEIGHTS

    def label(self) -> str:
        """Short text for menus: name, source and version."""
        version = self.card.get("version", "?")
        return f"{self.name} ({self.source}, v{version})"


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(folder: Path) -> dict | None:
    try:
        card = json.loads((folder / CARD).read_text())
    except (OSError, ValueError) as exc:
        log.warning("ignoring model folder %s: unreadable card.json (%s)", folder, exc)
        return None
    return card if isinstance(card, dict) else None


def _scan(root: Path, source: str) -> list[ModelInfo]:
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if (folder / CARD).exists():
            card = read_card(folder)
            if card is not None:
                found.append(ModelInfo(folder.name, folder, card, source))
    return found


def list_models(task: str | None = None) -> list[ModelInfo]:
    """Every model found, shipped first, optionally only those of one task.

    A user model whose name clashes with a shipped one is skipped (with a warning).
    """
    shipped = _scan(config.SHIPPED_MODEL_DIR, "shipped")
    names = {m.name for m in shipped}
    models = list(shipped)
    for info in _scan(config.user_model_dir(), "user"):
        if info.name in names:
            log.warning("user model '%s' has the name of a shipped model and is ignored", info.name)
            continue
        models.append(info)
    return [m for m in models if task is None or m.task == task]


def find_model(name: str) -> ModelInfo:
    """The model called ``name``.

    Raises:
        ModelError naming the models that exist.
    """
    models = list_models()
    for info in models:
        if info.name == name:
            return info
    options = ", ".join(m.name for m in models) or "none (no model folder found)"
    raise ModelError(f"No model named '{name}'. Available models: {options}.")


def verify(info: ModelInfo) -> None:
    """Check the weights exist and match the card's sha256.

    Raises:
        ModelError explaining what is wrong and how to fix it.
    """
    if not info.weights.exists():
        raise ModelError(
            f"Model '{info.name}' has no weights at {info.weights}. Train it with "
            f"`{info.card.get('training_command', 'python -m devocore train ...')}` or restore the file.")
    expected = info.card.get("sha256")
    if not expected:
        raise ModelError(f"Model '{info.name}' has no sha256 in its card; refusing unverified weights.")
    actual = sha256(info.weights)
    if actual != expected:
        raise ModelError(f"Model '{info.name}': weights.safetensors does not match the checksum in its card "
                         f"(expected {expected[:12]}..., found {actual[:12]}...). The file is damaged or "
                         "was replaced; re-train or restore it.")


def build_from_card(card: dict):
    """An untrained module with the card's architecture and config."""
    from devocore import nets

    if "architecture" not in card:
        raise ModelError("The model card names no architecture.")
    return nets.build(card["architecture"], **card.get("config", {}))


def read_weights(path: str | Path, what: str) -> dict:
    """The tensors of a safetensors file; anything else (a pickle, a damaged file) is a :class:`ModelError`.

    Pickled weights (``.pt``, ``.pth``, ``.pkl``) are never loaded: unpickling can run code.
    """
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types on damaged or foreign headers
        raise ModelError(f"{what}: '{Path(path).name}' is not a readable safetensors weights file ({exc}); "
                         "Devoscope reads only safetensors, never pickles (.pt, .pth, .pkl).") from exc


def load_model(name: str, device: str = "cpu"):
    """Load a model by name, verified, in eval mode, on ``device``.

    Returns:
        the torch module; its card is attached as ``module.card``.
    """
    return _load(find_model(name), f"Model '{name}'").eval().to(device)


def load_folder(folder: str | Path, what: str = ""):
    """Load the model saved in ``folder`` (``card.json`` + weights), verified, in eval mode on the CPU.

    For a model that is not (yet) in a model folder Devoscope scans: a fine-tune's starting point
    given as a path, a model a user is about to publish. Raises :class:`ModelError` when the folder
    holds no card.
    """
    folder = Path(folder)
    card = read_card(folder) if (folder / CARD).exists() else None
    if card is None:
        raise ModelError(f"{what or folder.name}: '{folder}' holds no readable {CARD}.")
    return _load(ModelInfo(folder.name, folder, card, "user"), what or f"Model folder '{folder.name}'").eval()


def load_name_or_folder(spec: str | Path, what: str = ""):
    """A model given either as a folder that holds its ``card.json`` or as a registered name, on the CPU.

    For options that take both (``train lineage --init``, the experiment scripts).
    """
    if (Path(spec) / CARD).exists():
        return load_folder(spec, what)
    return load_model(str(spec), "cpu")


def _load(info: ModelInfo, what: str):
    verify(info)
    state = read_weights(info.weights, what)  # before building: fail fast on a damaged file
    module = build_from_card(info.card)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"{what}: weights do not fit the architecture in its card ({exc}).") from exc
    # what the file holds (a server may keep float16 weights in float16: ``nets.inference.keep_half``)
    stored = sorted({str(t.dtype).removeprefix("torch.") for t in state.values() if t.is_floating_point()})
    module.card = dict(info.card, name=info.name, source=info.source,
                       weights_dtype=stored[0] if len(stored) == 1 else "mixed")
    return module


def save_model(module, folder: str | Path, card: dict, half: bool = True) -> ModelInfo:
    """Write ``module``'s weights (fp16 by default) and its card into ``folder``.

    The card gets ``sha256`` and ``created`` filled in; it must already name the
    ``architecture`` and ``config`` that rebuild the module.
    """
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {}
    for key, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu()
        if half and tensor.is_floating_point() and tensor.dtype == torch.float32:
            tensor = tensor.half()
        state[key] = tensor.contiguous()
    save_file(state, str(folder / WEIGHTS))
    card = dict(card)
    card.setdefault("version", "1")
    card["weights_dtype"] = "float16" if half else "float32"
    card["created"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    card["sha256"] = sha256(folder / WEIGHTS)
    (folder / CARD).write_text(json.dumps(card, indent=2) + "\n")
    return ModelInfo(folder.name, folder, card, "user")


def model_name(text: str) -> str:
    """A user model's name as typed, checked: letters, digits, '-', '_' or '.' only (it becomes a folder).

    Example:
        >>> model_name(" my-nuclei_2 ")
        'my-nuclei_2'
        >>> model_name("../x")
        Traceback (most recent call last):
        ...
        devocore.errors.ModelError: Use letters, digits, '-', '_' or '.' in the model name ('../x').
    """
    name = text.strip()
    if not name or name.startswith(".") or any(not (ch.isalnum() or ch in "-_.") for ch in name):
        raise ModelError(f"Use letters, digits, '-', '_' or '.' in the model name ('{text.strip()}').")
    return name


def publish(folder: str | Path, name: str, replace: bool = False) -> ModelInfo:
    """Copy a saved model folder (weights and card) into the user model folder as ``name``.

    The one way the views save a user model: the name is checked (:func:`model_name`), never that of a
    shipped model, and not that of another user model unless ``replace`` (then the old one is overwritten).
    The card's ``name`` becomes ``name``.

    Raises:
        ModelError for a bad or taken name, or a folder that is not a model.
    """
    import shutil

    name = model_name(name)
    taken = {m.name: m.source for m in list_models()}
    if name in taken and not (replace and taken[name] == "user") or (config.SHIPPED_MODEL_DIR / name).exists():
        raise ModelError(f"A model called '{name}' exists already; choose another name.")
    folder = Path(folder)
    card = read_card(folder)
    if card is None:
        raise ModelError(f"'{folder.name}' holds no model card.")
    target = config.user_model_dir() / name
    if target.resolve() != folder.resolve():
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
    card["name"] = name
    (target / CARD).write_text(json.dumps(card, indent=2) + "\n")
    return ModelInfo(name, target, card, "user")


# (key in an evaluation record, its baseline's key, what it is) for every figure a card may hold
MEASURES = (("iou", "baseline_iou", "pixel IoU (higher is better)"),
            ("f1", "baseline_f1", "instance F1 at IoU 0.5 (higher is better)"),
            ("nmae", "baseline_nmae", "nMAE (lower is better)"))


def measured_figures(card: dict) -> list[dict]:
    """The card's evaluations on data the model never saw, one row per figure, baseline beside it.

    Each ``metrics.eval_<data>`` record of the card (written by ``eval ... --record`` or
    ``--update-card``) gives the rows; training-time figures are left out.

    Example:
        >>> card = {"metrics": {"sim_val_iou": 0.9, "eval_real": {"data": "ctc (85 images)", "iou": 0.69,
        ...         "baseline_iou": 0.72, "baseline": "otsu"}}}
        >>> measured_figures(card)
        [{'data': 'ctc (85 images)', 'figure': 'pixel IoU (higher is better)', 'model': 0.69, 'baseline': 0.72, 'baseline method': 'otsu'}]
    """
    rows = []
    for key, record in (card.get("metrics") or {}).items():
        if not (key.startswith("eval_") and isinstance(record, dict)):
            continue
        for figure, baseline_key, what in MEASURES:
            if isinstance(record.get(figure), (int, float)):
                rows.append({"data": record.get("data", key[len("eval_"):]), "figure": what,
                             "model": round(float(record[figure]), 3),
                             "baseline": (round(float(record[baseline_key]), 3)
                                          if isinstance(record.get(baseline_key), (int, float)) else None),
                             "baseline method": record.get("baseline", "")})
                if record.get("method"):
                    rows[-1] = {"method": record["method"], **rows[-1]}
    return rows


def measured_commands(card: dict) -> list[str]:
    """The commands that made the card's evaluations (``metrics.eval_<data>.command``), in order, once each.

    Example:
        >>> measured_commands({"metrics": {"eval_real": {"iou": 0.8, "command": "python -m devocore eval x"}}})
        ['python -m devocore eval x']
    """
    seen: list[str] = []
    for key, record in (card.get("metrics") or {}).items():
        command = record.get("command") if key.startswith("eval_") and isinstance(record, dict) else None
        if isinstance(command, str) and command not in seen:
            seen.append(command)
    return seen

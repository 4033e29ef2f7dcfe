"""Helpers shared by the pages: query-parameter state, uploads, errors, progress.

Lives beside the pages (not in devocore) because it imports streamlit.
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import streamlit as st

from devocore.config import EXAMPLES_DIR, LIMITS
from devocore.errors import DevocoreError

PAGES_DIR = Path(__file__).resolve().parent

# (file stem, title, icon) of every view, in menu order; a view appears once its page file exists.
VIEWS = [
    ("segmentation", "Segmentation", ":material/blur_on:"),
    ("lineage", "Lineage time-lapse", ":material/timeline:"),
    ("gan", "GAN sampler", ":material/auto_awesome:"),
    ("tracking", "Worm tracking", ":material/gesture:"),
    ("pca", "PCA explorer", ":material/scatter_plot:"),
    ("forecast", "LSTM forecast", ":material/show_chart:"),
    ("train", "Train", ":material/model_training:"),
    ("batch", "Batch", ":material/dynamic_feed:"),
    ("simulator", "Simulator", ":material/science:"),
]


_ROUTED = False


def route_through_app() -> None:
    """Send a page run directly by Streamlit back through app.py's router (every view page calls it first).

    A fresh server whose first visitor opens a page URL (``/segmentation``) runs
    pages/segmentation.py directly, in Streamlit's old pages-folder mode, without
    app.py's navigation and sidebar. Pinned streamlit 1.67 keeps that mode in
    ``PagesManager.uses_pages_directory`` until ``st.navigation`` runs; switching
    it off and rerunning makes app.py route the same URL. Once st.navigation has run the mode stays off,
    so only the first call in a server process acts (as the import-time switch did before).
    """
    global _ROUTED
    if _ROUTED:
        return
    _ROUTED = True
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def available_views() -> list[tuple[str, str, str]]:
    """The views whose page file exists, in menu order."""
    return [v for v in VIEWS if (PAGES_DIR / f"{v[0]}.py").exists()]


def param(key: str, default, cast: Callable = str):
    """The value of ``key`` from the URL's query parameters, or ``default``.

    Pages use it as a widget's initial value and write the widget's value back
    with :func:`set_param`, so a copied URL reproduces the view.
    """
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        if cast is bool:
            return raw.lower() in ("1", "true", "yes")
        return cast(raw)
    except (TypeError, ValueError):
        return default


def set_param(key: str, value) -> None:
    """Store a widget's value in the URL (only when it changed, to avoid reruns)."""
    text = str(int(value)) if isinstance(value, bool) else str(value)
    if st.query_params.get(key) != text:
        st.query_params[key] = text


def choice_index(options: list, value, default: int = 0) -> int:
    """Index of ``value`` in ``options`` for a selectbox, or ``default``."""
    return options.index(value) if value in options else default


@contextlib.contextmanager
def guard(what: str = "") -> Iterator[None]:
    """Show input errors as ``st.error`` and stop the page, never a traceback.

    Example (in a page)::

        with guard("reading the image"):
            image = io.read_image(upload.getvalue(), name=upload.name)
    """
    try:
        yield
    except DevocoreError as exc:
        st.error(f"{what.capitalize() + ': ' if what else ''}{as_uploaded(str(exc))}", icon=":material/error:")
        st.stop()


def as_uploaded(text: str) -> str:
    """``text`` (a message from devocore) with the names of this session's staged uploads
    (``upload-<digest>.tif``, ``frames-<digest>``; see :func:`stage_upload`) replaced by the names the user gave."""
    for staged, name in st.session_state.get("_staged_names", {}).items():
        text = text.replace(staged, name)
    return text


def remember_upload(target: Path, name: str) -> Path:
    """Remember that ``target`` holds the upload called ``name`` (for :func:`as_uploaded`); returns ``target``.
    Pages that stage an upload themselves call it too."""
    st.session_state.setdefault("_staged_names", {})[target.name] = name
    return target


SESSION_PREFIX = "devoscope-session-"
SESSION_MAX_IDLE_S = 24 * 3600


def session_dir() -> Path:
    """A temporary folder for this browser session's files (uploads, outputs)."""
    if "_session_dir" not in st.session_state:
        from devocore.io import remove_stale_folders

        # sessions end without telling the server: folders untouched for a day belong to gone sessions
        remove_stale_folders(tempfile.gettempdir(), SESSION_PREFIX, SESSION_MAX_IDLE_S)
        folder = tempfile.mkdtemp(prefix=SESSION_PREFIX)
        atexit.register(shutil.rmtree, folder, True)  # and all of them go when the server stops
        st.session_state["_session_dir"] = folder
    return Path(st.session_state["_session_dir"])


STAGE_KINDS = ("file", "zip", "frames")


def stage_upload(upload, kind: str = "file") -> Path:
    """Write an ``st.file_uploader`` upload into this session's folder and return where it lies.

    The path is made from a digest of the content (never from the upload's name: only its extension is
    kept, cleaned), so a rerun finds the staged copy instead of writing another, and the path can serve
    as a cache key.

    Args:
        upload: an ``UploadedFile``.
        kind: ``"file"``: the file itself (``upload-<digest>.<ext>``, via :func:`devocore.io.save_upload`);
            ``"zip"``: a ZIP extracted safely into a folder (:func:`devocore.io.extract_zip`);
            ``"frames"``: a ZIP of images laid out flat as a time series (``frame000700.png`` or
            ``frame_aaaa.png``, ...)
            (:func:`devocore.io.extract_zip_frames`).

    Raises:
        DevocoreError subclasses for unsafe or unreadable archives and for a microscope maker's own format or a
        picture format Devoscope does not read (GIF, BMP, ...), named by the upload's name (show them with
        :func:`guard`).
    """
    from devocore import io

    if kind not in STAGE_KINDS:
        raise ValueError(f"kind must be one of {STAGE_KINDS}, not {kind!r}")
    data = upload.getvalue()
    io.refuse_unread_format(f"'{upload.name}'", upload.name, data[:16])
    digest = hashlib.sha256(data).hexdigest()[:16]
    folder = session_dir()
    if kind == "file":
        target = folder / f"upload-{digest}{io.clean_suffix(Path(upload.name).suffix)}"
        if not target.exists():
            io.save_upload(data, target.suffix, folder).replace(target)  # atomic: never half a file
        return remember_upload(target, upload.name)
    target = folder / f"{kind}-{digest}"
    if not target.exists():  # both extractions are all or nothing
        if kind == "zip":
            io.extract_zip(data, target, name=upload.name)
        else:
            io.extract_zip_frames(data, target, name=upload.name)
    return remember_upload(target, upload.name)


def stage_frames(uploads) -> Path:
    """Several image uploads as one folder of frames, in natural name order; names that all carry rising
    numbers keep them, others are numbered by position (see :func:`devocore.io.flat_frame_names`)."""
    from devocore import io
    from devocore.errors import UnsupportedFormatError

    ordered = sorted(uploads, key=lambda u: io.natural_key(Path(u.name)))
    digest = hashlib.sha256()
    for upload in ordered:
        digest.update(hashlib.sha256(upload.getvalue()).digest())
    for upload in ordered:
        io.refuse_unread_format(f"'{upload.name}'", upload.name)
        if Path(upload.name).suffix.lower() not in io.IMAGE_SUFFIXES:
            raise UnsupportedFormatError(f"'{upload.name}': several files must all be images (frames).")
    target = session_dir() / f"frames-{digest.hexdigest()[:16]}"
    target.mkdir(parents=True, exist_ok=True)
    for upload, name in zip(ordered, io.flat_frame_names([upload.name for upload in ordered])):
        frame = target / name
        if not frame.exists():
            frame.write_bytes(upload.getvalue())
    return remember_upload(target, f"{ordered[0].name} ... {ordered[-1].name}")


class ProgressBar:
    """A devocore progress callback (``report(fraction, message)``) drawing an ``st.progress`` bar.

    Call :meth:`done` when the work is over: the bar gives way to a one-line summary (or disappears),
    so a finished page shows no half-filled or stale bar.
    """

    def __init__(self, text: str = "Working..."):
        self.text = text
        self._slot = st.empty()
        self._bar = self._slot.progress(0.0, text=text)

    def __call__(self, fraction: float, message: str = "") -> None:
        if self._bar is not None:
            self._bar.progress(max(0.0, min(1.0, float(fraction))), text=message or self.text)

    def done(self, summary: str | None = None) -> None:
        """Replace the bar by ``summary`` as a caption, or remove it when ``summary`` is empty."""
        if summary:
            self._slot.caption(summary)
        else:
            self._slot.empty()
        self._bar = None


def zip_folder(folder: str | Path) -> bytes:
    """Every file under ``folder`` in one ZIP (paths relative to it). Give large ones to ``st.download_button``
    as ``functools.partial(zip_folder, folder)``: the ZIP is then made when the visitor clicks, not held on
    every rerun of the page."""
    import io
    import zipfile

    folder, buffer = Path(folder), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def progress_bar(text: str = "Working...") -> ProgressBar:
    """A progress callback ``report(fraction, message)``; ``report.done(summary)`` ends it."""
    return ProgressBar(text)


def examples(kind: str) -> dict[str, Path]:
    """Bundled example files for a page: ``assets/examples/<kind>/*``, by file name."""
    folder = EXAMPLES_DIR / kind
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


# which of LIMITS.describe()'s limits apply to each kind of input a page takes (the upload size always does)
_LIMITS_BY_KIND = {"image": ("pixels per image", "memory per decoded image (plane)"),
                   "stack": ("pixels per stack or video", "memory per decoded stack"),
                   "video": ("frames per video", "pixels per stack or video", "pixels per video (frames x frame size)"),
                   "table": ("rows per table", "columns per table")}


def limits_caption(*kinds: str) -> None:
    """One line telling the user what Devoscope accepts for the ``kinds`` of input the page takes (default all)."""
    limits = LIMITS.describe()
    wanted = {"upload size"}.union(*(_LIMITS_BY_KIND[k] for k in kinds or _LIMITS_BY_KIND))
    st.caption("Limits: " + "; ".join(f"{k} {v}" for k, v in limits.items() if k in wanted))


def measured_accuracy(model_name: str) -> None:
    """An expander with the model's figures on data it never saw, from its card, baseline beside each."""
    from devocore import registry

    try:
        rows = registry.measured_figures(registry.find_model(model_name).card)
    except DevocoreError:
        return
    with st.expander("How accurate is this model?", icon=":material/fact_check:"):
        if not rows:
            st.caption(f"The card of '{model_name}' records no evaluation on held-out data.")
            return
        st.caption("Measured on data the model never saw during training (from its card; the commands are in "
                   "the README). Compare with the baseline before trusting the numbers on your own data.")
        st.dataframe(rows, hide_index=True, width="stretch")
        commands = registry.measured_commands(registry.find_model(model_name).card)
        for command in commands:
            st.code(command, language="bash", wrap_lines=True)


def number_columns(spec: dict[str, tuple]) -> dict:
    """``st.dataframe`` column settings for numeric columns: ``{column: (label with its unit, printf format[,
    help])}``; a format of None keeps the number as it is.

    Example (in a page)::

        st.dataframe(table, column_config=number_columns({"area_px": ("area (px)", "%d")}))
    """
    return {column: st.column_config.NumberColumn(label, format=fmt, help=rest[0] if rest else None)
            for column, (label, fmt, *rest) in spec.items()}

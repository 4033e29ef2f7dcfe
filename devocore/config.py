"""Defaults, limits and environment overrides, in one place.

``DEVOCORE_MODEL_DIR`` adds a folder of user-trained models,
``DEVOCORE_DEVICE`` forces the torch device, ``DEVOCORE_DATASETS`` says where the
labelled training and evaluation data lie (for training and eval commands only), ``DEVOCORE_STATE_DIR`` moves the
record of files devocore wrote (see :mod:`devocore.outputs`), and ``DEVOCORE_MAX_*``
variables override the input limits (see :class:`Limits`).

``DEVOSCOPE_PROFILE=cloud`` (set by ``cloud/streamlit_app.py``) is the deploy profile for a public
demo such as Streamlit Community Cloud: uploads up to 200 MB, at most 2 Batch workers, server
folders limited to the bundled examples, user models and bookkeeping in a temporary folder, and the
CPU. An explicit environment variable above still wins over the profile's default.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SHIPPED_MODEL_DIR = ASSETS / "models"
EXAMPLES_DIR = ASSETS / "examples"

PROFILE_ENV = "DEVOSCOPE_PROFILE"
CLOUD = "cloud"
CLOUD_UPLOAD_MB = 200
CLOUD_MAX_WORKERS = 2
CLOUD_CACHE_MB = 32  # the pages' data caches in all (devocore.ui_cache), under the cloud profile
CLOUD_TRAIN = {"epochs": 5, "steps": 10, "batch": 4, "trials": 3, "trial_epochs": 2}  # see train_bounds()
CLOUD_FORECAST = {"epochs": 30, "n_models": 2}  # see forecast_bounds()
#: Most planes per network call when a model runs over a stack or video under the cloud profile (see
#: inference_batch()): a batch of 8 planes of 512 x 752 px held about 190 MB at the peak of a Batch run, one of 2
#: about 120 MB, in the same time on two cores.
CLOUD_INFERENCE_BATCH = 2
LOCAL_MAX_WORKERS = 8
#: The segmentation page decodes a stack or video whole only up to this many megabytes (decoded, from the
#: headers); a larger one is worked plane by plane: each plane decoded and segmented when it is shown, and all
#: planes streamed one at a time for the downloads (issue #31).
PAGE_WHOLE_MB = 256
#: A result file larger than this is not sent through the browser (a download is held in the server's memory
#: whole); the page says so and gives the command that writes it to disk instead (issue #31).
PAGE_DOWNLOAD_MB = 512


def profile() -> str:
    """The deploy profile: ``"cloud"`` when ``DEVOSCOPE_PROFILE=cloud``, else ``"local"``.

    Example:
        >>> profile() in ("cloud", "local")
        True
    """
    return CLOUD if os.environ.get(PROFILE_ENV, "").strip().lower() == CLOUD else "local"


def is_cloud() -> bool:
    """True under the public-demo deploy profile (``DEVOSCOPE_PROFILE=cloud``)."""
    return profile() == CLOUD


def _cloud_temp(name: str) -> Path:
    # a public demo keeps nothing of its users' beyond the container's life, and never in a home folder
    return Path(tempfile.gettempdir()) / f"devoscope-{name}"


def user_model_dir() -> Path:
    """Folder where models trained by the user are saved (and found).

    ``DEVOCORE_MODEL_DIR`` wins; otherwise ``~/.devoscope/models`` (a temporary folder under the
    cloud profile).
    """
    env = os.environ.get("DEVOCORE_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    return _cloud_temp("models") if is_cloud() else Path.home() / ".devoscope" / "models"


def state_dir() -> Path:
    """Folder for devocore's own bookkeeping (the record of files it wrote): ``DEVOCORE_STATE_DIR`` or
    ``~/.devoscope`` (a temporary folder under the cloud profile)."""
    env = os.environ.get("DEVOCORE_STATE_DIR")
    if env:
        return Path(env).expanduser()
    return _cloud_temp("state") if is_cloud() else Path.home() / ".devoscope"


def data_root() -> Path:
    """The server folder under which pages may read input folders (``DEVOCORE_DATA_DIR``; default: the
    home folder, or only the bundled examples under the cloud profile)."""
    env = os.environ.get("DEVOCORE_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return (EXAMPLES_DIR if is_cloud() else Path.home()).resolve()


def server_folder(text: str, root: Path | None = None) -> Path:
    """A folder the user typed, resolved under :func:`data_root` (``root``): relative to it, or absolute
    inside it. Pages read input folders only through this check.

    Raises:
        UnsafePathError when the folder lies outside the data folder (``..``, another absolute path, a link).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()).resolve()
        >>> server_folder("a/b", root) == root / "a" / "b"
        True
        >>> server_folder("../x", root)
        Traceback (most recent call last):
        ...
        devocore.errors.UnsafePathError: '../x' is outside the data folder ...; choose a folder inside it (or set DEVOCORE_DATA_DIR).
    """
    from devocore.errors import UnsafePathError

    root = (data_root() if root is None else Path(root)).resolve()
    path = (root / Path(text).expanduser()).resolve()  # an absolute path replaces root
    if path != root and root not in path.parents:
        raise UnsafePathError(f"'{text}' is outside the data folder {root}; choose a folder inside it "
                              "(or set DEVOCORE_DATA_DIR).")
    return path


def container_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """CPU cores this process may use: its affinity mask, capped by a cgroup CPU quota if one is set.

    A container often sees all of the host's cores in ``os.cpu_count()`` while its quota allows far
    fewer (Community Cloud: 2 at most); starting a worker per visible core would only add memory.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = None
    try:  # cgroup v2: "max 100000" or "200000 100000"
        text = (cgroup / "cpu.max").read_text().split()
        if text and text[0] != "max":
            quota = int(text[0]) / int(text[1])
    except (OSError, ValueError, IndexError):
        try:  # cgroup v1
            limit = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
            period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
            if limit > 0 and period > 0:
                quota = limit / period
        except (OSError, ValueError):
            pass
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def max_workers() -> int:
    """Most Batch worker processes: the container's cores, at most 2 under the cloud profile and 8
    otherwise (each worker imports torch, a few hundred MB)."""
    return max(1, min(container_cpus(), CLOUD_MAX_WORKERS if is_cloud() else LOCAL_MAX_WORKERS))


def train_bounds() -> dict[str, int] | None:
    """Most epochs, batches per epoch, batch size and search trials a page may start under the cloud
    profile (one visitor's training must not hold the shared container for long); None when local."""
    return dict(CLOUD_TRAIN) if is_cloud() else None


def forecast_bounds() -> dict[str, int] | None:
    """Most LSTM epochs and ensemble members the forecast page may train under the cloud profile (one
    heavy job runs at a time there, so a long one makes every other visitor wait); None when local."""
    return dict(CLOUD_FORECAST) if is_cloud() else None


def inference_batch(batch: int) -> int:
    """Planes per network call for a requested ``batch``: at most :data:`CLOUD_INFERENCE_BATCH` under the cloud
    profile, else ``batch`` unchanged.

    Example:
        >>> inference_batch(8) == (CLOUD_INFERENCE_BATCH if is_cloud() else 8)
        True
    """
    return max(1, min(batch, CLOUD_INFERENCE_BATCH)) if is_cloud() else batch


def streamlit_options() -> dict[str, object]:
    """Streamlit config options the deploy profile sets before the app runs (empty when local).

    ``server.maxUploadSize`` is read by Streamlit for every file uploader and every upload request,
    so setting it at run time caps uploads without a second ``.streamlit/config.toml``.
    """
    return {"server.maxUploadSize": Limits.from_env().upload_mb} if is_cloud() else {}


def datasets_dir() -> Path:
    """The labelled datasets the shipped models were trained and measured on (the developers' ``shared/data``
    folder of ``train/`` and ``eval/``): ``DEVOCORE_DATASETS``, else ``shared/data`` beside the repository.

    Only training and evaluation commands read it, and only for their default paths; the app never does.
    """
    env = os.environ.get("DEVOCORE_DATASETS")
    return Path(env).expanduser() if env else ROOT.parent / "shared" / "data"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class Limits:
    """What Devoscope accepts before it refuses an input as too large.

    Attributes:
        upload_mb: largest upload, in megabytes (mirrors .streamlit/config.toml; 200 under the cloud
            profile, which sets Streamlit's own limit to match).
        max_pixels: largest image plane, width x height (decompression-bomb guard).
        max_total_pixels: largest stack or video, summed over planes.
        max_frames: most frames read from one video or stack.
        max_rows: most rows read from one table.
        max_columns: most columns read from one table (counted in the header before parsing).
        max_decoded_mb: most memory one stack may take once decoded, in megabytes (checked from the
            file's header before decoding; stacks are read plane by plane, so this bounds callers that
            need a whole stack at once, such as 3-D labels).
        max_image_mb: most memory one image (one plane of a stack, one video frame) may take once
            decoded, in megabytes (from the header).
        max_video_pixels: most pixels one video or folder of frames may hold, frames x pixels per frame
            (from the header: the announced frame count times the frame size). Videos are streamed, so
            this bounds the time a run takes rather than its memory.
    """

    upload_mb: int = 1024
    max_pixels: int = 64_000_000
    max_total_pixels: int = 2_000_000_000
    max_frames: int = 20_000
    max_rows: int = 5_000_000
    max_columns: int = 10_000
    max_decoded_mb: int = 4096
    max_image_mb: int = 512
    max_video_pixels: int = 40_000_000_000

    @classmethod
    def from_env(cls) -> "Limits":
        """Limits with ``DEVOCORE_MAX_PIXELS`` and friends applied."""
        base = cls()
        upload_mb = min(base.upload_mb, CLOUD_UPLOAD_MB) if is_cloud() else base.upload_mb
        return cls(
            upload_mb=_env_int("DEVOCORE_MAX_UPLOAD_MB", upload_mb),
            max_pixels=_env_int("DEVOCORE_MAX_PIXELS", base.max_pixels),
            max_total_pixels=_env_int("DEVOCORE_MAX_TOTAL_PIXELS", base.max_total_pixels),
            max_frames=_env_int("DEVOCORE_MAX_FRAMES", base.max_frames),
            max_rows=_env_int("DEVOCORE_MAX_ROWS", base.max_rows),
            max_columns=_env_int("DEVOCORE_MAX_COLUMNS", base.max_columns),
            max_decoded_mb=_env_int("DEVOCORE_MAX_DECODED_MB", base.max_decoded_mb),
            max_image_mb=_env_int("DEVOCORE_MAX_IMAGE_MB", base.max_image_mb),
            max_video_pixels=_env_int("DEVOCORE_MAX_VIDEO_PIXELS", base.max_video_pixels),
        )

    def describe(self) -> dict[str, str]:
        """Human-readable limits, for the UI and the README."""
        return {
            "upload size": f"{self.upload_mb} MB",
            "pixels per image": f"{self.max_pixels / 1e6:.0f} megapixels",
            "pixels per stack or video": f"{self.max_total_pixels / 1e9:.0f} gigapixels",
            "frames per video": f"{self.max_frames:,}",
            "rows per table": f"{self.max_rows:,}",
            "columns per table": f"{self.max_columns:,}",
            "memory per decoded image (plane)": f"{self.max_image_mb:,} MB",
            "memory per decoded stack": f"{self.max_decoded_mb / 1024:.0f} GB",
            "pixels per video (frames x frame size)": f"{self.max_video_pixels / 1e9:.0f} gigapixels",
        }


LIMITS = Limits.from_env()

"""Defaults, limits and environment overrides, in one place.

``DEVOCORE_MODEL_DIR`` adds a folder of user-trained models,
``DEVOCORE_DEVICE`` forces the torch device, ``DEVOCORE_STATE_DIR`` moves the
record of files devocore wrote (see :mod:`devocore.outputs`), and ``DEVOCORE_MAX_*``
variables override the input limits (see :class:`Limits`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SHIPPED_MODEL_DIR = ASSETS / "models"
EXAMPLES_DIR = ASSETS / "examples"


def user_model_dir() -> Path:
    """Folder where models trained by the user are saved (and found).

    ``DEVOCORE_MODEL_DIR`` wins; otherwise ``~/.devoscope/models``.
    """
    env = os.environ.get("DEVOCORE_MODEL_DIR")
    return Path(env).expanduser() if env else Path.home() / ".devoscope" / "models"


def state_dir() -> Path:
    """Folder for devocore's own bookkeeping (the record of files it wrote): ``DEVOCORE_STATE_DIR`` or
    ``~/.devoscope``."""
    env = os.environ.get("DEVOCORE_STATE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".devoscope"


def data_root() -> Path:
    """The server folder under which pages may read input folders (``DEVOCORE_DATA_DIR``, default: home)."""
    env = os.environ.get("DEVOCORE_DATA_DIR")
    return (Path(env).expanduser() if env else Path.home()).resolve()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class Limits:
    """What Devoscope accepts before it refuses an input as too large.

    Attributes:
        upload_mb: largest upload, in megabytes (mirrors .streamlit/config.toml).
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
        return cls(
            upload_mb=_env_int("DEVOCORE_MAX_UPLOAD_MB", base.upload_mb),
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

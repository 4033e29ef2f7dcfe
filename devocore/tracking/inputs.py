"""Inputs for the tracker that are neither a video nor a folder: a ZIP of frames, the example clip."""
from __future__ import annotations

import logging
from pathlib import Path

from devocore.config import EXAMPLES_DIR
from devocore.io import extract_zip_frames

log = logging.getLogger(__name__)

EXAMPLE_VIDEO = EXAMPLES_DIR / "tracking" / "worms.mp4"


def unpack_frames_zip(data: bytes, folder: str | Path) -> Path:
    """Write the images of a ZIP archive (any sub-folder) flat into ``folder`` as frames and return it.

    See :func:`devocore.io.extract_zip_frames` for the safety checks and the errors.
    """
    return extract_zip_frames(data, folder, name="the uploaded ZIP")


def example_video(cache_dir: str | Path | None = None) -> Path:
    """The example clip: the bundled one, else one simulated (2 worms, 150 frames) and cached."""
    if EXAMPLE_VIDEO.exists():
        return EXAMPLE_VIDEO
    from devocore.simulate.worm import simulate_video, write_video

    folder = Path(cache_dir) if cache_dir else Path.home() / ".devoscope" / "examples"
    path = folder / "tracking_worms.mp4"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        log.info("simulating the tracking example into %s", path)
        write_video(simulate_video(seed=3, n_frames=150, n_worms=2), path, fps=25.0)
    return path

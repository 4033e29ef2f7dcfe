"""Inputs for the tracker that are neither a video nor a folder: a ZIP of frames, the example clip."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from devocore.config import EXAMPLES_DIR
from devocore.errors import NoFramesError
from devocore.io import IMAGE_SUFFIXES, extract_zip

log = logging.getLogger(__name__)

EXAMPLE_VIDEO = EXAMPLES_DIR / "tracking" / "worms.mp4"


def unpack_frames_zip(data: bytes, folder: str | Path, max_files: int = 20_000) -> Path:
    """Write the images of a ZIP archive (any sub-folder) flat into ``folder`` and return it.

    Unpacks with :func:`devocore.io.extract_zip`, which refuses traversal, links and ZIP bombs.

    Raises:
        UnreadableFileError when the bytes are not a ZIP; NoFramesError when it holds no
        image; UnsafePathError for entries that would escape the folder; TooLargeError for a ZIP bomb.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / ".unpacked"
    written = 0
    for path in extract_zip(data, staging, name="the ZIP archive", max_files=max_files):
        relative = path.relative_to(staging.resolve())
        if relative.name.startswith(".") or relative.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        # keep sub-folder names in the file name so frames from different folders do not collide
        path.replace(folder / "_".join(relative.parts))
        written += 1
    shutil.rmtree(staging, ignore_errors=True)
    if not written:
        raise NoFramesError(f"The archive holds no image ({', '.join(IMAGE_SUFFIXES)}).")
    return folder


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

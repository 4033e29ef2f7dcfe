"""Inputs for the tracker that are neither a video nor a folder: a ZIP of frames, the example clip."""
from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

from devocore.config import EXAMPLES_DIR
from devocore.errors import NoFramesError, UnreadableFileError, UnsafePathError
from devocore.io import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

EXAMPLE_VIDEO = EXAMPLES_DIR / "tracking" / "worms.mp4"


def unpack_frames_zip(data: bytes, folder: str | Path, max_files: int = 20_000) -> Path:
    """Write the images of a ZIP archive (any sub-folder) flat into ``folder`` and return it.

    Raises:
        UnreadableFileError when the bytes are not a ZIP; NoFramesError when it holds no
        image; UnsafePathError for entries that would escape the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadableFileError("The upload is not a ZIP archive.") from None
    written = 0
    with archive:
        for entry in archive.infolist():
            name = entry.filename
            if entry.is_dir() or Path(name).name.startswith("."):
                continue
            if name.startswith(("/", "\\")) or ".." in Path(name).parts:
                raise UnsafePathError(f"The archive entry '{name}' points outside the archive.")
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            written += 1
            if written > max_files:
                raise NoFramesError(f"The archive holds more than {max_files:,} images.")
            # keep sub-folder names in the file name so frames from different folders do not collide
            flat = "_".join(Path(name).parts)
            (folder / flat).write_bytes(archive.read(entry))
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

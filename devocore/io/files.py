"""Files on disk: uploads saved under names of their own, ZIPs extracted safely (all or nothing), stale
temporary folders removed."""
from __future__ import annotations

import io as _io
import os
import re
import tempfile
from pathlib import Path

from devocore.config import LIMITS, Limits
from devocore.errors import NoFramesError, TooLargeError, UnreadableFileError
from devocore.io.sources import IMAGE_SUFFIXES, describe_source, read_bytes, Source


def remove_stale_folders(parent: str | os.PathLike, prefix: str, older_than_s: float) -> list[Path]:
    """Delete the folders ``parent/<prefix>*`` in which nothing changed for ``older_than_s`` seconds.

    For temporary session folders whose session is long gone; returns the folders removed.

    Example:
        >>> import tempfile
        >>> remove_stale_folders(tempfile.mkdtemp(), "devoscope-session-", 86400)
        []
    """
    import shutil
    import time

    removed = []
    now = time.time()
    for folder in Path(parent).glob(f"{prefix}*"):
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            newest = max([folder.stat().st_mtime] + [p.lstat().st_mtime for p in folder.rglob("*")])
        except OSError:  # removed meanwhile by another process
            continue
        if now - newest > older_than_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def clean_suffix(suffix: str) -> str:
    """A file extension safe to use in a generated name: letters and digits only, at most 8, lower case.

    Example:
        >>> clean_suffix(".MP4"), clean_suffix("../x/.t i f"), clean_suffix("")
        ('.mp4', '.xtif', '')
    """
    return "." + re.sub(r"[^A-Za-z0-9]", "", suffix)[:8].lower() if suffix else ""


def save_upload(data: bytes, suffix: str, folder: str | os.PathLike | None = None) -> Path:
    """Write uploaded bytes to a new file with a generated name (never the user's).

    Args:
        data: the upload's bytes.
        suffix: the extension to keep (".mp4"); anything but letters and digits is dropped.
        folder: where to write; a fresh temporary folder when None.
    """
    clean = clean_suffix(suffix)
    folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="devoscope-"))
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=clean, dir=folder)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return Path(name)


def extract_zip(source: Source, dest: str | os.PathLike, name: str | None = None, limits: Limits = LIMITS,
                max_files: int = 20_000, max_ratio: float = 200.0) -> list[Path]:
    """Extract a ZIP upload safely into ``dest``; returns the files written.

    Refuses entries that would land outside ``dest`` (``../x``, absolute paths,
    links), archives that inflate beyond the upload limit or by more than
    ``max_ratio`` (ZIP bombs), and archives with more than ``max_files`` entries.
    Nothing is written unless the whole archive passes these checks, and extraction is all or
    nothing: entries go to a hidden folder beside ``dest`` first and are moved into place only when
    every one was read whole (an entry larger than it declares, or damaged, leaves nothing behind).

    Raises:
        UnsafePathError, TooLargeError, UnreadableFileError.
    """
    import shutil
    import stat
    import zipfile

    from devocore.errors import UnsafePathError

    what = describe_source(source, name)
    data = read_bytes(source, what, limits)
    dest = Path(dest).resolve()
    try:
        archive = zipfile.ZipFile(_io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnreadableFileError(f"{what} is not a readable ZIP archive ({exc}).") from exc
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        if len(entries) > max_files:
            raise TooLargeError(f"{what} holds {len(entries):,} files; the limit is {max_files:,}.")
        total = sum(e.file_size for e in entries)
        cap = limits.upload_mb * 1024 * 1024
        if total > cap or total > max_ratio * max(len(data), 1):
            raise TooLargeError(f"{what} would expand to {total / 2**20:.0f} MB from {len(data) / 2**20:.1f} MB; "
                                "it looks like a ZIP bomb and was not extracted.")
        targets = []
        for entry in entries:
            target = (dest / entry.filename).resolve()
            mode = entry.external_attr >> 16
            if dest not in target.parents or stat.S_ISLNK(mode):
                raise UnsafePathError(f"{what} has an entry '{entry.filename}' that points outside the folder "
                                      "it is extracted to; the archive was refused.")
            targets.append((entry, target))
        folders = {parent for _, target in targets for parent in target.parents}
        clash = next((entry.filename for entry, target in targets if target in folders), None)
        if clash is not None:
            raise UnreadableFileError(f"{what} holds both a file and a folder named '{clash}'; "
                                      "the archive was refused.")
        for entry, target in targets:  # a file already where a folder must go: say so before writing
            blocked = next((p for p in [target, *target.parents] if p != dest and dest in p.parents
                            and p.exists() and (p.is_dir() == (p == target))), None)
            if blocked is not None:
                raise UnreadableFileError(f"{what}: entry '{entry.filename}' could not be extracted ('{blocked.name}' "
                                          "already exists there as a file or folder); nothing was extracted.")
        # all or nothing: everything goes to a hidden folder beside dest first, and is moved into place
        # only when every entry was read whole (a lying or damaged entry leaves nothing behind)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-unzip-", dir=dest.parent))
        created, written = not dest.exists(), []
        try:
            for entry, target in targets:
                staged = staging / target.relative_to(dest)
                try:
                    staged.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(entry) as src, open(staged, "wb") as out:
                        remaining = entry.file_size + 1
                        while chunk := src.read(min(1 << 20, remaining)):
                            remaining -= len(chunk)
                            if remaining <= 0:  # the header lied about the size
                                raise TooLargeError(f"{what}: entry '{entry.filename}' is larger than it "
                                                    "declares; nothing was extracted.")
                            out.write(chunk)
                except (OSError, zipfile.BadZipFile) as exc:
                    raise UnreadableFileError(
                        f"{what}: entry '{entry.filename}' could not be extracted "
                        f"({exc.strerror if isinstance(exc, OSError) else exc}); nothing was extracted.") from exc
            for entry, target in targets:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / target.relative_to(dest), target)
                except OSError as exc:
                    raise UnreadableFileError(f"{what}: entry '{entry.filename}' could not be extracted "
                                              f"({exc.strerror}); nothing was extracted.") from exc
                written.append(target)
        except BaseException:
            for target in written:  # a move failed half way (a full disk, a folder in the way)
                target.unlink(missing_ok=True)
            if created:
                shutil.rmtree(dest, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return written


def extract_zip_frames(source: Source, folder: str | os.PathLike, name: str | None = None,
                       limits: Limits = LIMITS) -> Path:
    """Extract a ZIP of images safely (see :func:`extract_zip`) and lay its images out flat as frames.

    The images (from any sub-folder) are renamed in natural order of their paths in the archive, so
    :func:`open_frames` reads them as a time series; names that all carry rising numbers keep them
    (``00700.png`` becomes ``frame000700.png``), others are numbered by position (see
    :func:`devocore.io.frames.flat_frame_names`).

    Raises:
        NoFramesError when the archive holds no image; the errors of :func:`extract_zip`.
    """
    import shutil

    from devocore.io.frames import flat_frame_names

    folder = Path(folder)
    unpacked = Path(tempfile.mkdtemp(prefix="zip-", dir=_ensure_dir(folder.parent)))
    try:
        written = extract_zip(source, unpacked, name=name, limits=limits)
        images = sorted((p for p in written if p.suffix.lower() in IMAGE_SUFFIXES
                         and not p.name.startswith(".")),
                        key=lambda p: [int(t) if t.isdigit() else t.lower()
                                       for t in re.split(r"(\d+)", p.relative_to(unpacked).as_posix())])
        if not images:
            raise NoFramesError(f"{describe_source(source, name)} holds no PNG, JPEG or TIFF images.")
        folder.mkdir(parents=True, exist_ok=True)
        for path, flat in zip(images, flat_frame_names(images)):
            path.replace(folder / flat)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    return folder


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path

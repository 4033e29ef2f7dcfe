"""What an input is (file kinds, the format from its first bytes) and reading its bytes within the limits."""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Union

from devocore.config import Limits
from devocore.errors import EmptyFileError, TooLargeError, UnreadableFileError, UnsupportedFormatError


Source = Union[str, os.PathLike, bytes, bytearray, BinaryIO]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mov", ".mp4", ".avi", ".m4v", ".mkv")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")

#: Microscope makers' own file formats, which Devoscope does not read: (extensions, first bytes or b"", name).
#: Files are known by their extension, or by their first bytes where those are distinctive. An Olympus VSI file
#: is a TIFF that holds an overview only (the images lie in .ets files beside it), so it is refused by name.
MICROSCOPE_FORMATS = (
    ((".czi",), b"ZISRAWFILE", "a Zeiss CZI file"),
    ((".zvi",), b"", "a Zeiss ZVI file"),
    ((".nd2",), b"\xda\xce\xbe\x0a", "a Nikon ND2 file"),
    ((".lif", ".lof", ".xlef"), b"", "a Leica file"),
    ((".oib", ".oif", ".vsi"), b"", "an Olympus file"),
    ((".oir",), b"OLYMPUSRAWFORMAT", "an Olympus OIR file"),
    ((".ims",), b"", "an Imaris file"),
    ((".dv", ".r3d"), b"", "a DeltaVision file"),
    ((".h5", ".hdf5"), b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
)
#: What to do with one of :data:`MICROSCOPE_FORMATS`.
MICROSCOPE_STEP = ("Devoscope reads TIFF: open the file in Fiji (File > Import > Bio-Formats) and save it as TIFF "
                   "(File > Save As > Tiff...), which keeps its channels, z-slices, time points and pixel size.")

#: Picture formats Devoscope does not read, by suffix and first bytes (WebP and HEIC also by later bytes): what
#: each is; :func:`refuse_unread_format` gives the step that converts it.
PICTURE_FORMATS = (
    ((".gif",), (b"GIF87a", b"GIF89a"), "a GIF image"),
    ((".bmp", ".dib"), (b"BM",), "a BMP image"),
    ((".webp",), (), "a WebP image"),
    ((".jp2", ".j2k", ".jpf", ".jpx"), (b"\x00\x00\x00\x0cjP  \r\n", b"\xffO\xffQ"), "a JPEG 2000 image"),
    ((".heic", ".heif"), (), "a HEIC image"),
)


def picture_format(name: str, head: bytes = b"") -> str | None:
    """Which picture format Devoscope does not read a file is in (:data:`PICTURE_FORMATS`), or None.

    Example:
        >>> picture_format("cells.GIF"), picture_format("upload", b"RIFF\\x10\\x00\\x00\\x00WEBPVP8 ")
        ('a GIF image', 'a WebP image')
        >>> picture_format("cells.png", b"\\x89PNG\\r\\n\\x1a\\n") is None
        True
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"heif"):
        return "a HEIC image"
    return _named_format(PICTURE_FORMATS, name, head)


def _named_format(formats, name: str, head: bytes) -> str | None:
    """The kind of the first of ``formats`` ((suffixes, first bytes: one or a tuple, kind), ...) that ``name``'s
    suffix or ``head`` matches, or None."""
    suffix = Path(name).suffix.lower()
    for suffixes, magics, kind in formats:
        if suffix in suffixes or any(m and head.startswith(m) for m in (magics if isinstance(magics, tuple)
                                                                         else (magics,))):
            return kind
    return None


def refuse_unread_format(what: str, name: str, head: bytes = b"") -> None:
    """Raise :class:`UnsupportedFormatError` with the step that converts it when ``name`` (or ``head``) is one of
    :data:`MICROSCOPE_FORMATS` or :data:`PICTURE_FORMATS`; ``what`` names the file in the message."""
    refuse_microscope_format(what, name, head)
    kind = picture_format(name, head)
    if kind:
        animated = "; an animated GIF opens as a stack, and Tiff... keeps its frames" if kind == "a GIF image" else ""
        raise UnsupportedFormatError(
            f"{what} is {kind}, which Devoscope does not read: it reads PNG, JPEG and TIFF images. Open it in Fiji "
            f"and save it as PNG or TIFF (File > Save As > PNG... or Tiff...{animated}).")


#: The file kinds a page's uploader names (see :func:`upload_types`). "microscope" files (and other "picture"
#: formats) are taken only to be refused with the step that converts them (:func:`refuse_unread_format`), instead of
#: the uploader's bare "file type not allowed".
UPLOAD_KINDS = {"image": IMAGE_SUFFIXES, "video": VIDEO_SUFFIXES, "table": TABLE_SUFFIXES, "zip": (".zip",),
                "microscope": tuple(suffix for suffixes, _, _ in MICROSCOPE_FORMATS for suffix in suffixes),
                "picture": tuple(suffix for suffixes, _, _ in PICTURE_FORMATS for suffix in suffixes)}


def upload_types(*kinds: str) -> list[str]:
    """The extensions (without dots) of the given kinds, for ``st.file_uploader(type=...)``.

    Example:
        >>> upload_types("video", "zip")
        ['mov', 'mp4', 'avi', 'm4v', 'mkv', 'zip']
    """
    return [suffix.lstrip(".") for kind in kinds for suffix in UPLOAD_KINDS[kind]]


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
)


def describe_source(source: Source, name: str | None) -> str:
    if name:
        return f"'{name}'"
    if isinstance(source, (str, os.PathLike)):
        return f"'{Path(source).name}'"
    return "the uploaded file"


def read_bytes(source: Source, what: str, limits: Limits) -> bytes:
    """All bytes of ``source``; refuses files over the upload limit."""
    cap = limits.upload_mb * 1024 * 1024
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise UnreadableFileError(f"{what} does not exist.")
        if path.is_dir():
            raise UnsupportedFormatError(f"{what} is a folder, not a file.")
        size = path.stat().st_size
        if size > cap:
            raise TooLargeError(f"{what} is {size / 2**20:.0f} MB; the limit is {limits.upload_mb} MB.")
        data = path.read_bytes()
    else:
        data = source.read(cap + 1)
    if len(data) == 0:
        raise EmptyFileError(f"{what} is empty (0 bytes).")
    if len(data) > cap:
        raise TooLargeError(f"{what} is larger than the {limits.upload_mb} MB limit.")
    return data


def sniff_format(head: bytes) -> str | None:
    """Image format from the first bytes of a file: 'png', 'jpeg', 'tiff' or None.

    Example:
        >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n....")
        'png'
        >>> sniff_format(b"hello") is None
        True
    """
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    return None


def microscope_format(name: str, head: bytes = b"") -> str | None:
    """Which microscope maker's own format a file is in, by its name or its first bytes, or None.

    Example:
        >>> microscope_format("embryo 3.CZI"), microscope_format("upload", b"ZISRAWFILE...")
        ('a Zeiss CZI file', 'a Zeiss CZI file')
        >>> microscope_format("embryo.tif", b"II*\\x00") is None
        True
    """
    return _named_format(MICROSCOPE_FORMATS, name, head)


def refuse_microscope_format(what: str, name: str, head: bytes = b"") -> None:
    """Raise :class:`UnsupportedFormatError` with the step that converts it when ``name`` (or ``head``) is one of
    :data:`MICROSCOPE_FORMATS`; ``what`` names the file in the message."""
    kind = microscope_format(name, head)
    if kind:
        raise UnsupportedFormatError(f"{what} is {kind}, which Devoscope does not read. {MICROSCOPE_STEP}")


def looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    return bool(sample) and all(32 <= b < 127 or b in (9, 10, 13) for b in sample)

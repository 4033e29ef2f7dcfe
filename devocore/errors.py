"""Errors a biologist can read.

Every failure that comes from the user's input or environment is raised as a
subclass of :class:`DevocoreError`; the CLI prints its message as one line and
exits with code 2, the pages show it with ``st.error``.
"""


class DevocoreError(Exception):
    """Base class: the message is meant for the person at the keyboard."""


class UnreadableFileError(DevocoreError):
    """The file exists but cannot be decoded (corrupt, truncated, wrong content)."""


class EmptyFileError(UnreadableFileError):
    """The file has zero bytes."""


class UnsupportedFormatError(DevocoreError):
    """The file's format or layout is not one Devoscope reads."""


class NoFramesError(UnreadableFileError):
    """A video or stack holds no frame that could be decoded."""


class TooLargeError(DevocoreError):
    """The input is over one of the limits in :class:`devocore.config.Limits`."""


class TableError(DevocoreError):
    """A table is empty, lacks columns or holds values of the wrong kind."""


class MissingColumnsError(TableError):
    """Required columns are absent."""


class NonNumericError(TableError):
    """A column that must be numeric holds text."""


class EmptyTableError(TableError):
    """The table has no rows."""


class ModelError(DevocoreError):
    """A model is unknown, its weights are missing or fail their checksum."""


class UnsafePathError(DevocoreError):
    """An archive entry or name would escape the folder it belongs in."""


class OutputError(DevocoreError):
    """An output would replace an input or a file devocore did not write, or cannot be written there."""

"""Domain errors. Every message names the bad value, where it came from, and the fix.

The library raises these; the CLI turns them into one clean line and an exit code.
"""
from __future__ import annotations


class OlympiaError(Exception):
    """Base class: anything a user can fix by changing input or configuration."""


class ClipValidationError(OlympiaError):
    """A clip breaks the canonical schema (bad shape, NaN keypoints, rep bounds out of range...)."""

    def __init__(self, clip_id: str, field: str, message: str):
        self.clip_id, self.field = clip_id, field
        super().__init__(f"clip {clip_id!r}, field {field!r}: {message}")


class LayoutError(OlympiaError):
    """A raw source directory does not have the layout its adapter expects."""


class SourceFormatError(OlympiaError):
    """A raw file does not parse as its format says (names the file and the row)."""

    def __init__(self, path, message: str, row: int | None = None):
        self.path, self.row = str(path), row
        where = f"{path}" if row is None else f"{path}, row {row}"
        super().__init__(f"{where}: {message}")


class StoreIntegrityError(OlympiaError):
    """A release on disk does not match its meta/info.json (missing, truncated or altered file)."""


class OutputFolderError(OlympiaError):
    """An output folder cannot be written: it holds the user's files, or another process is writing it."""


class LabelError(OlympiaError):
    """A raw label cannot be normalized (empty, no letters, ...)."""


class VideoError(OlympiaError):
    """A video cannot be read, normalized, cut or posed."""


class ConfigError(OlympiaError):
    """Missing or invalid configuration (a path, a checkpoint, a token)."""

"""File I/O written once: atomic writes and JSON reads that name the file.

Every file Olympia writes goes through `atomic_path`: the content is written to a temporary
file in the same folder and renamed over the target only when complete, so a reader (or a
crash) never sees half a file. Written files get the mode the process umask gives new files
(0644 under umask 022), not mkstemp's private 0600; a failed write leaves no temporary file.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from olympia.errors import SourceFormatError

_UMASK: int | None = None


def _file_mode() -> int:
    """0o666 minus the process umask (read once; os.umask can only be read by setting it)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed.

    For writers that want a file name (ffmpeg, torch.save, savefig, Parquet): write to the
    yielded path. `suffix` keeps an extension some writers look at (".png", ".mp4").
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix + ".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (see the module docstring)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def json_text(obj: Any, indent: int | None = 1) -> str:
    """The project's stable JSON: sorted keys, trailing newline; numpy and Path values become
    plain JSON. Same object -> same bytes."""
    return json.dumps(obj, indent=indent, sort_keys=True, default=_json_default) + "\n"


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 1) -> Path:
    """Write `obj` as stable JSON (see `json_text`) atomically."""
    return atomic_write_text(path, json_text(obj, indent))


def atomic_write_parquet(table, path: str | Path, **write_options) -> Path:
    """Write a pyarrow Table as Parquet atomically (`write_options` go to pq.write_table)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **write_options)
    return Path(path)


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """Parse a JSON file; a missing, unreadable or malformed file raises SourceFormatError
    naming the file, what it should be, and the parser's position."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceFormatError(path, f"{what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceFormatError(path, f"cannot read {what}: {exc}") from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SourceFormatError(path, f"{what} is not valid JSON ({exc}); fix or regenerate it") from None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return o.as_posix()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")

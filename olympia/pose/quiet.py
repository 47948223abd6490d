"""Keep native libraries' log lines off the terminal.

MediaPipe and TFLite write straight to file descriptor 2 from C++ threads ("INFO: Created
TensorFlow Lite XNNPACK delegate for CPU.", absl "W0000 ... inference_feedback_manager ..."
twice per video); no environment variable silences them (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL
and ABSL_MIN_LOG_LEVEL were tried). `native_stderr_to_log()` points descriptor 2 at a log file
while a model runs and gives Python a stream on the real terminal for that time, so progress
bars and messages still show. `terminal_stderr` is a file object for progress bars that writes
to whatever `sys.stderr` is at the moment of writing.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ENV_LOG = "OLYMPIA_NATIVE_LOG"   # where native log lines go (default: <tmp>/olympia-native.log)
_LOCK = threading.Lock()
_DEPTH = 0


def native_log_path() -> Path:
    return Path(os.environ.get(ENV_LOG) or Path(tempfile.gettempdir()) / "olympia-native.log")


@contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """Descriptor 2 -> the native log for the duration; `sys.stderr` -> the real stderr.
    Re-entrant; does nothing when stderr has no descriptor (e.g. under click's CliRunner)."""
    global _DEPTH
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else -1
    except (AttributeError, ValueError, OSError):
        fd = -1
    if fd != 2:
        yield
        return
    with _LOCK:
        _DEPTH += 1
        first = _DEPTH == 1
        if first:
            saved_fd, python_stderr = _redirect()
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if first:
                _restore(saved_fd, python_stderr)


def _redirect():
    for stream in (sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    saved = os.dup(2)
    try:
        log = os.open(native_log_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        log = os.open(os.devnull, os.O_WRONLY)
    os.dup2(log, 2)
    os.close(log)
    python_stderr = sys.stderr
    if getattr(python_stderr, "fileno", None) and _fileno(python_stderr) == 2:
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding,
                               errors="backslashreplace")
    return saved, python_stderr


def _restore(saved: int, python_stderr) -> None:
    if sys.stderr is not python_stderr:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = python_stderr
    os.dup2(saved, 2)
    os.close(saved)


def _fileno(stream) -> int:
    try:
        return stream.fileno()
    except (AttributeError, ValueError, OSError):
        return -1


class _TerminalStderr:
    """A file for tqdm that writes to the current `sys.stderr` (see the module docstring)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())

    def fileno(self) -> int:
        return sys.stderr.fileno()


terminal_stderr = _TerminalStderr()

"""Replacing a whole output folder (a store or release) safely: one writer at a time, all or
nothing, and never anybody else's files.

Writing TARGET (`replacing(target)`):
  1. an exclusive lock (fcntl.flock) on `.TARGET.lock` beside it: a second writer fails at
     once, naming the folder (flock holds across processes and PID namespaces, unlike PIDs);
  2. TARGET must be absent, empty, or an Olympia store/release holding only its own files
     (`check_replaceable`), unless the user forces it;
  3. everything is written into a staging folder `.TARGET.staging-<pid>-<random>` beside it;
  4. swap: TARGET -> TARGET.previous, staging -> TARGET, then TARGET.previous is deleted;
  5. the lock is released (also when the writer dies: the kernel drops it).
`recover(target)` (readers and writers) undoes a swap interrupted between its two renames and
deletes staging folders left by dead writers, but only while it can take the lock: it never
touches a live writer's files, and a reader arriving between the two renames waits for them.
"""
from __future__ import annotations

import errno
import fcntl
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from olympia.errors import OlympiaError, OutputFolderError
from olympia.io import read_json
from olympia.layout import INFO_PATH


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def previous_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.previous")


def _staging_dirs(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.staging-*")) if target.parent.is_dir() else []


@contextmanager
def _flock(target: Path, mode: int, blocking: bool) -> Iterator[bool]:
    """Yield True while holding the lock, False when it is busy (non-blocking only)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(target), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, mode | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def check_replaceable(target: Path, force: bool = False) -> None:
    """Raise OutputFolderError unless replacing `target` loses nothing of the user's.

    Replaceable: absent, empty, or an Olympia store/release (it has meta/info.json) whose files
    are all listed in that info.json. `force` accepts anything (the user said so)."""
    target = Path(target)
    if force or not target.exists():
        return
    if not target.is_dir():
        raise OutputFolderError(f"output {target} is a file, not a folder; choose a folder path "
                                "for --out (or pass --force to replace the file)")
    if not any(target.iterdir()):
        return
    if not (target / INFO_PATH).is_file():
        raise OutputFolderError(f"output folder {target} is not empty and is not an Olympia store or "
                                f"release (no {INFO_PATH}): replacing it would delete its contents. "
                                "Choose a new or empty folder, or pass --force to replace it")
    try:
        listed = set(read_json(target / INFO_PATH, "store info").get("files", {})) | {INFO_PATH}
    except (OlympiaError, AttributeError):
        listed = {INFO_PATH}
    stray = sorted(p.relative_to(target).as_posix() for p in target.rglob("*")
                   if (p.is_file() or p.is_symlink()) and p.relative_to(target).as_posix() not in listed)
    if stray:
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        raise OutputFolderError(f"output folder {target} holds {len(stray)} file(s) that are not part of "
                                f"the store ({shown}): replacing it would delete them. Move them out, "
                                "or pass --force to replace the folder anyway")


@contextmanager
def replacing(target: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a fresh staging folder; on success it becomes `target` (see the module docstring).
    On any error the staging folder is removed and `target` is left as it was."""
    target = Path(target)
    with _flock(target, fcntl.LOCK_EX, blocking=False) as held:
        if not held:
            raise OutputFolderError(f"{target} is being written by another olympia process (lock "
                                    f"{lock_path(target)} is held); wait for it to finish or choose "
                                    "another --out")
        _recover_locked(target)
        check_replaceable(target, force)
        staging = target.parent / f".{target.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            yield staging
            _swap(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _swap(staging: Path, target: Path) -> None:
    previous = previous_path(target)
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists() or target.is_symlink():
        os.rename(target, previous)
    os.rename(staging, target)
    if previous.is_dir() and not previous.is_symlink():
        shutil.rmtree(previous, ignore_errors=True)
    elif previous.exists() or previous.is_symlink():
        previous.unlink()


def _recover_locked(target: Path) -> None:
    previous = previous_path(target)
    if not target.exists() and previous.exists():
        os.rename(previous, target)
    for stale in _staging_dirs(target):
        shutil.rmtree(stale, ignore_errors=True)


def recover(target: str | Path) -> None:
    """Undo an interrupted swap and clear dead writers' staging, never a live writer's."""
    target = Path(target)
    for _ in range(2):
        interrupted = not target.exists() and previous_path(target).exists()
        if not interrupted and not _staging_dirs(target):
            return                               # the common case: nothing to do, no lock file
        try:
            with _flock(target, fcntl.LOCK_EX, blocking=False) as held:
                if held:
                    _recover_locked(target)
                    return
            if not interrupted:
                return                           # staging of a live writer: not ours to touch
            with _flock(target, fcntl.LOCK_SH, blocking=True):
                pass                             # a writer between its two renames: wait, re-check
        except OSError as exc:                   # read-only location: nothing can be recovered here
            if exc.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
                raise
            return

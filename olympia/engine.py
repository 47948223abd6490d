"""Where per-item work runs: a local process pool (the default) or a Ray cluster.

`map_items(fn, items, engine)` applies a pure, picklable top-level function to every item and
yields the results in input order, whatever order they finish in; an item whose call raised
(or whose worker died) yields an `ItemFailure` naming it, and the others go on. The pose stage
(`olympia pose`), set detection (`olympia videos sets`) and the release build (`olympia build`)
all map their work through here, so every engine gives the same results in the same order.

The local engine is a process pool (spawn by default, one worker per core, each optionally
pinned to its own cores) and needs nothing beyond the standard library. Ray is imported only
when `Engine(kind="ray")` is used: it connects to `ray_address` (or $RAY_ADDRESS), or starts a
local instance bound to 127.0.0.1; tasks reuse their worker processes, so a model a function
loads once per process (the pose backends) stays loaded per worker, and Ray retries a task
whose worker died. At most `max_in_flight` items are submitted ahead of the one being yielded,
so a long input streams in bounded memory on either engine.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import socket
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from tqdm import tqdm

from olympia.errors import ConfigError

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Engine:
    kind: str = "local"                 # "local" (process pool) or "ray"
    workers: int | None = None          # local: processes (None: one per core; 1: in this process);
                                        # ray: tasks meant to run at once (None: the cluster's
                                        # CPUs); twice as many are submitted, so none waits idle
    ray_address: str | None = None      # ray: cluster address; None: $RAY_ADDRESS, else a local instance
    num_cpus: float = 1.0               # ray: CPUs reserved per task
    num_gpus: float = 0.0               # ray: GPUs per task (MotionBERT on GPU workers)
    start_method: str = "spawn"         # local: "spawn" (safe with threaded libraries) or "fork"
    pin_cores: int = 0                  # pin each worker process to this many cores of its own (0: no);
                                        # ray: cores no other pinned worker on its machine holds
    max_retries: int = 3                # ray: re-runs of a task whose worker process died

    def __post_init__(self):
        if self.kind not in ENGINES:
            raise ConfigError(f"unknown engine {self.kind!r}; choose one of {ENGINES}")


@dataclass
class ItemFailure:
    """An item whose call raised or whose worker died; the run goes on without it."""

    index: int                          # position of the item in the input
    error: str                          # one line: what happened


def default_workers() -> int:
    """One worker per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


def map_items(fn: Callable[[Any], Any], items: Iterable, engine: Engine | None = None, *,
              progress: bool = False, desc: str = "items", total: int | None = None,
              max_in_flight: int | None = None) -> Iterator[Any]:
    """Yield fn(item) for every item, in input order; ItemFailure for an item that failed.
    No engine: one after the other in this process."""
    engine = engine or Engine(workers=1)
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    items = iter(items)
    bar = tqdm(total=total, desc=desc, unit="item", disable=not progress, file=sys.stderr)
    try:
        if engine.kind == "ray":
            results = _ray_map(fn, items, engine, max_in_flight)
        elif (engine.workers or default_workers()) <= 1:
            results = (_call(fn, item, i) for i, item in enumerate(items))
        else:
            results = _pool_map(fn, items, engine, max_in_flight)
        for result in results:
            bar.update(1)
            yield result
    finally:
        bar.close()


def _call(fn, item, index: int):
    try:
        return fn(item)
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the others
        return ItemFailure(index, f"{type(exc).__name__}: {exc}")


def _ordered(submit: Callable[[int, Any], Any], wait: Callable[[Any, int], Any], items: Iterator,
             window: int) -> Iterator[Any]:
    """Submit up to `window` items ahead; yield their results in input order."""
    pending: deque = deque()
    for index, item in enumerate(items):
        pending.append((index, submit(index, item)))
        if len(pending) >= window:
            i, handle = pending.popleft()
            yield wait(handle, i)
    while pending:
        i, handle = pending.popleft()
        yield wait(handle, i)


# ------------------------------------------------------------------------------ local pool

def _pin_worker(counter, cores_per_worker: int) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    cores = sorted(os.sched_getaffinity(0))
    slot = index % max(1, len(cores) // cores_per_worker)
    os.sched_setaffinity(0, cores[slot * cores_per_worker:(slot + 1) * cores_per_worker])


class _Pool:
    """A process pool that replaces itself when a worker dies (the pool is then unusable);
    the items it was running are re-submitted, each at most `max_retries` times, as Ray does."""

    def __init__(self, fn, engine: Engine):
        self.fn, self.engine, self.pool = fn, engine, None
        self.ctx = mp.get_context(engine.start_method)

    def _executor(self) -> ProcessPoolExecutor:
        if self.pool is None or self.pool._broken:
            if self.pool is not None:
                self.pool.shutdown(wait=False, cancel_futures=True)
            init, initargs = ((_pin_worker, (self.ctx.Value("i", 0), self.engine.pin_cores))
                              if self.engine.pin_cores else (None, ()))
            self.pool = ProcessPoolExecutor(max_workers=self.engine.workers or default_workers(),
                                            mp_context=self.ctx, initializer=init, initargs=initargs)
        return self.pool

    def submit(self, index: int, item) -> list:
        return [self._executor().submit(_call, self.fn, item, index), item, 0]

    def wait(self, handle: list, index: int):
        while True:
            try:
                return handle[0].result()
            except BrokenProcessPool as exc:
                if handle[2] >= self.engine.max_retries:
                    return ItemFailure(index, f"the worker process failed ({type(exc).__name__}: {exc})")
                handle[2] += 1
                handle[0] = self._executor().submit(_call, self.fn, handle[1], index)
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable item or result
                return ItemFailure(index, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _pool_map(fn, items: Iterator, engine: Engine, max_in_flight: int | None) -> Iterator[Any]:
    pool = _Pool(fn, engine)
    try:
        yield from _ordered(pool.submit, pool.wait, items, max_in_flight or 2 * (engine.workers or default_workers()))
    finally:
        pool.close()


# ------------------------------------------------------------------------------------- Ray

def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install 'ray>=2.60,<3' (it is in "
                          "requirements.lock; `make env` installs it)") from None
    return ray


_SHIPPED_EXCLUDES = [".git", ".venv", ".venv-ls", "dist", "work", "build", ".cache", "__pycache__", "*.pyc"]


def code_runtime_env() -> dict:
    """Olympia's code travels with the job, so every worker runs the driver's code: the checkout
    (package + annotations/ rule files, ~1.4 MB) as the working dir, or the installed package."""
    package = Path(__file__).resolve().parent
    repo = package.parent
    if (repo / "annotations").is_dir() and (repo / "pyproject.toml").is_file():
        return {"working_dir": str(repo), "excludes": _SHIPPED_EXCLUDES}
    return {"py_modules": [str(package)]}


def ray_connect(engine: Engine):
    """Connect this process to the engine's cluster (once); returns the ray module."""
    ray = _ray()
    if not ray.is_initialized():
        address = engine.ray_address or os.environ.get("RAY_ADDRESS")
        options = dict(runtime_env=code_runtime_env(), logging_level="ERROR", log_to_driver=False,
                       include_dashboard=False)
        if address:
            _reachable(address)
            try:
                ray.init(address=address, **options)
            except ConnectionError as exc:      # "auto" with no cluster on this machine
                raise ConfigError(f"no Ray cluster at {address!r} ({str(exc).splitlines()[0]}); start one "
                                  "(`ray start --head`) and give its address, or leave --ray-address out "
                                  "for a local instance") from None
        else:                           # a local instance, reachable only from this machine
            ray.init(num_cpus=engine.workers or default_workers(), _node_ip_address="127.0.0.1", **options)
    return ray


CONNECT_TIMEOUT_S = 5.0     # an address where nothing answers: Ray itself retries for minutes


def _reachable(address: str) -> None:
    """Raise ConfigError when nothing answers at a cluster's host:port within CONNECT_TIMEOUT_S
    ("auto" and ray:// client addresses are left to Ray)."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one there "
                          f"(`ray start --head --port {port}`) or check the address") from None


_CLAIMED: list = []     # per Ray worker process: the open lock file of the cores it holds


def claim_cores(cores_per_worker: int, folder: str | Path | None = None) -> list[int] | None:
    """Pin this process to `cores_per_worker` cores that no other claiming process on this
    machine holds (an flock per slot, released by the kernel when the process dies); None, and
    no pinning, when every slot is taken. Ray does not pin its workers: unpinned, MediaPipe's and
    ffmpeg's threads spread over every core, and a pose task cost 10 % more CPU than in the
    pinned local pool (1.73 against 1.56 CPU-s a task, measured on this 2-core machine)."""
    import fcntl
    import tempfile

    if _CLAIMED:                        # this process holds its cores already
        return sorted(os.sched_getaffinity(0))
    folder = Path(folder or Path(tempfile.gettempdir()) / f"olympia-cores-{os.getuid()}")
    folder.mkdir(exist_ok=True)
    cores = sorted(os.sched_getaffinity(0))
    for slot in range(len(cores) // cores_per_worker):
        lock = open(folder / f"{cores_per_worker}-{slot}", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        _CLAIMED.append(lock)
        mine = cores[slot * cores_per_worker:(slot + 1) * cores_per_worker]
        os.sched_setaffinity(0, mine)
        return mine
    return None


def _call_pinned(fn, item, index: int, cores_per_worker: int = 1):
    try:
        claim_cores(cores_per_worker)
    except OSError:
        pass                            # pinning is an optimisation, never a failure
    return _call(fn, item, index)


def _ray_map(fn, items: Iterator, engine: Engine, max_in_flight: int | None) -> Iterator[Any]:
    ray = ray_connect(engine)
    remote = ray.remote(num_cpus=engine.num_cpus, num_gpus=engine.num_gpus,
                        max_retries=engine.max_retries)(_call_pinned if engine.pin_cores else _call)
    # as the pool does: twice the running tasks in flight, so a CPU whose task finished takes the
    # next one from Ray's queue at once instead of waiting for the driver to submit it
    window = max_in_flight or 2 * (engine.workers or max(1, int(ray.cluster_resources().get("CPU", 1))))

    def wait(ref, index):
        try:
            return ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - worker died beyond its retries, node lost
            return ItemFailure(index, f"the Ray task failed ({type(exc).__name__}: {str(exc).splitlines()[0]})")

    extra = (engine.pin_cores,) if engine.pin_cores else ()
    yield from _ordered(lambda i, item: remote.remote(fn, item, i, *extra), wait, items, window)

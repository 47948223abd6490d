"""olympia.engine on the local engine: input order, failures as values, bounded look-ahead, and
no Ray import unless asked for (the Ray engine on a real cluster: tests/test_ray.py)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from olympia.engine import Engine, ItemFailure, map_items
from olympia.errors import ConfigError


def slow_square(x):
    """Later items finish first: results must still come back in input order."""
    import time

    time.sleep(0.02 * (5 - x % 5))
    if x == 3:
        raise ValueError("three is refused")
    return x * x


def die_on_four(x):
    if x == 4:
        os._exit(1)                     # the worker process dies without a word
    return x


@pytest.mark.parametrize("engine", [None, Engine(workers=1), Engine(workers=2, start_method="fork")])
def test_results_in_input_order_and_failures_as_values(engine):
    out = list(map_items(slow_square, range(10), engine))
    assert [o for o in out if not isinstance(o, ItemFailure)] == [x * x for x in range(10) if x != 3]
    [failure] = [o for o in out if isinstance(o, ItemFailure)]
    assert failure.index == 3 and "ValueError: three is refused" in failure.error
    assert isinstance(out[3], ItemFailure)


def test_a_dead_worker_fails_its_item_not_the_run():
    """Item 4 kills its worker every time: it is retried (max_retries), then reported; the
    items in flight with it are re-run in a fresh pool and the run goes on."""
    out = list(map_items(die_on_four, range(8), Engine(workers=2, start_method="fork", max_retries=1)))
    assert out[:4] == [0, 1, 2, 3] and out[5:] == [5, 6, 7]
    assert isinstance(out[4], ItemFailure) and "worker process failed" in out[4].error


def test_lookahead_is_bounded():
    pulled = []

    def items():
        for i in range(100):
            pulled.append(i)
            yield i
    results = map_items(abs, items(), Engine(workers=2, start_method="fork"), max_in_flight=4)
    assert next(results) == 0
    assert len(pulled) <= 5                # the window, not the whole input
    assert list(results) == list(range(1, 100))


def test_unknown_engine_is_refused():
    with pytest.raises(ConfigError, match="unknown engine 'spark'"):
        Engine(kind="spark")


def test_the_local_engine_never_imports_ray(tmp_path):
    script = ("import sys\nfrom olympia.demo import DemoConfig\nfrom olympia.recipe import Recipe, build_from_recipe\n"
              "from olympia.release import ReleaseConfig\n"
              f"build_from_recipe(Recipe(ReleaseConfig(), DemoConfig(n_clips=6, clips_per_subject=2)), {str(tmp_path / 'r')!r},"
              " workers=2, progress=False)\nassert 'ray' not in sys.modules, 'ray was imported'\n")
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)


def _claim_and_hold(folder, claimed, barrier):
    from olympia.engine import claim_cores

    cores = claim_cores(1, folder)
    claimed.put((cores, sorted(os.sched_getaffinity(0))))
    barrier.wait(30)                    # hold the claim until every process has claimed


def test_pinned_workers_claim_cores_no_other_holds(tmp_path):
    """What Ray workers do before a pinned task (Ray itself never pins): each process takes a
    core no other process holds, while they hold them; with more processes than cores the rest
    stay unpinned."""
    import multiprocessing as mp

    n_cores = len(os.sched_getaffinity(0))
    ctx = mp.get_context("fork")
    claimed, barrier = ctx.Queue(), ctx.Barrier(n_cores + 1)
    procs = [ctx.Process(target=_claim_and_hold, args=(str(tmp_path), claimed, barrier)) for _ in range(n_cores + 1)]
    for p in procs:
        p.start()
    got = [claimed.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    pinned = [cores for cores, affinity in got if cores is not None]
    assert all(cores == affinity for cores, affinity in got if cores is not None)
    assert sorted(c for cores in pinned for c in cores) == sorted(os.sched_getaffinity(0))   # each core once
    assert [cores for cores, _ in got].count(None) == 1


def test_a_cluster_address_where_nothing_answers_is_one_error_in_seconds(tmp_path):
    """`--ray-address HOST:PORT` with no cluster there: Ray would retry for minutes, printing
    connection lines; the engine says so at once (a port just closed refuses the connection)."""
    import socket
    import time

    from olympia.engine import ray_connect
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match=f"no Ray cluster answers at 127.0.0.1:{port}.*ray start --head --port {port}"):
        ray_connect(Engine(kind="ray", ray_address=f"127.0.0.1:{port}"))
    assert time.monotonic() - t0 < 10

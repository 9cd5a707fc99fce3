"""Dask, one way for every scale-out: a LocalCluster of `workers` processes by default, or an existing cluster at
`scheduler="tcp://host:port"`. Sweeps run notebooks on it, index builds embed partitions on it and comparisons
shard their eval examples over it.

Workers of a LocalCluster are forked from this process on Linux (what it has imported already, torch included,
is not imported again); workspace and run state inherited that way is dropped in the child (see
workspace._forget_after_fork). A remote cluster's workers must see the same workspace folder and model cache
(a shared filesystem), as they would for a sweep.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterable, Iterator, Optional

from .errors import InputError, LlmopsError

SCHEDULER_TIMEOUT_S = 5


def check_scheduler(address: str) -> str:
    """Refuse an address Dask cannot even parse, before any work (a reachable one is checked on connect)."""
    try:
        from distributed.comm import registry
        from distributed.comm.addressing import parse_address
    except ImportError:
        raise LlmopsError("dask[distributed] is not installed; run: pip install 'dask[distributed]'") from None

    try:
        scheme, _ = parse_address(str(address))
    except (ValueError, TypeError) as exc:
        raise InputError(f"--scheduler {address!r} is not a Dask address ({exc}); e.g. tcp://host:8786") from None
    if scheme not in registry.backends:
        raise InputError(f"--scheduler {address!r}: unknown scheme '{scheme}://'; use one of "
                         f"{', '.join(s + '://' for s in sorted(registry.backends))}, e.g. tcp://host:8786")
    return str(address)


def start_client(workers: int, scheduler: Optional[str] = None, *, preload: Iterable[str] = ()):
    """(client, cluster): a client of the cluster at `scheduler`, or of a new LocalCluster of `workers`
    single-threaded processes (cluster is None for a remote scheduler). `preload`: modules imported here first so
    forked workers inherit them."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise LlmopsError("dask[distributed] is not installed; run: pip install 'dask[distributed]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} within {SCHEDULER_TIMEOUT_S}s "
                             f"({type(exc).__name__}); check the address, or omit --scheduler for a local cluster") from None
    import importlib

    import dask

    for name in preload:
        importlib.import_module(name)
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=50)
    return Client(cluster), cluster


@contextlib.contextmanager
def dask_client(workers: int, scheduler: Optional[str] = None, *, preload: Iterable[str] = ()) -> Iterator:
    """`start_client` as a context: the client (and a LocalCluster it started) closed on the way out."""
    client, cluster = start_client(workers, scheduler, preload=preload)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def cluster_workers(client) -> int:
    """How many workers the cluster has now (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


__all__ = ["SCHEDULER_TIMEOUT_S", "check_scheduler", "cluster_workers", "dask_client", "start_client"]

"""Where the chunks of an experiment run: in this process, a local process pool, or Dask.

Every executor is a context manager with one method, ``imap_unordered(fn, chunks, ctx)``,
that yields ``(chunk, result)`` as chunks finish, in any order; ``result`` is ``fn(chunk,
ctx)`` or the exception that lost the whole chunk (a worker that died, a task Dask gave up
on). Runs that merely raise never get here: :func:`sim.experiments.tasks.run_one` records
them as failed.

* ``serial``: one chunk after the other, in this process (debugging, tests, tiny runs).
* ``processes``: :class:`concurrent.futures.ProcessPoolExecutor` with ``workers`` processes
  (default ``os.cpu_count()``), started by a *forkserver* that has imported the model once
  (``set_forkserver_preload``): workers start in milliseconds like ``fork`` but inherit no
  threads or locks of the parent (tqdm, Dask, a notebook kernel), which ``fork`` would.
  Where there is no forkserver (Windows) the pool spawns.
* ``dask``: :mod:`distributed`. With ``address=None`` a ``LocalCluster`` of ``workers``
  single-threaded worker processes on the loopback interface (:func:`local_cluster`), closed
  at the end; with
  ``address="tcp://host:8786"`` (or a ``Cluster`` object's ``scheduler_address``) the
  client connects to that scheduler and leaves it running.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator

from ..config import ConfigError

__all__ = ["EXECUTORS", "DaskExecutor", "ProcessExecutor", "SerialExecutor", "local_cluster",
           "make_executor", "start_method"]

EXECUTORS = ("processes", "dask", "serial")
#: Module a fresh worker imports before its first task (the model and the task runner).
WORKER_MODULE = "sim.experiments.tasks"


class SerialExecutor:
    """Runs chunks one after the other in this process."""

    kind = "serial"
    workers = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap_unordered(self, fn: Callable, chunks: list, ctx) -> Iterator[tuple[list, object]]:
        for chunk in chunks:
            yield chunk, fn(chunk, ctx)


def start_method() -> str:
    """``forkserver`` where available (POSIX), else ``spawn``."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ProcessExecutor:
    """A local pool of worker processes (see the module docstring for the start method)."""

    kind = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None

    def __enter__(self):
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context(start_method())
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload([WORKER_MODULE])
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:  # interrupted: do not wait for the chunks in flight
            for proc in list(getattr(self.pool, "_processes", {}).values()):
                proc.terminate()
        self.pool.shutdown(wait=exc_type is None, cancel_futures=True)
        return False

    def imap_unordered(self, fn: Callable, chunks: list, ctx) -> Iterator[tuple[list, object]]:
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        futures = {self.pool.submit(fn, chunk, ctx): chunk for chunk in chunks}
        for fut in as_completed(futures):
            try:
                result = fut.result()
            except BrokenProcessPool as e:
                raise RuntimeError("a worker process died (killed, or out of memory); the runs "
                                   "finished so far are saved: run again to resume") from e
            except Exception as e:  # noqa: BLE001 - the chunk could not be sent or returned
                result = e
            yield futures.pop(fut), result


#: Dask settings of the workers :func:`local_cluster` starts.
LOCAL_WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes on 127.0.0.1,
    without a dashboard.

    Two Dask defaults that cost model runs time are off here (see :data:`LOCAL_WORKER_CONFIG`):
    nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (to hand freed memory back to
    the OS), which with glibc also pins the mmap threshold, so every large numpy array is a
    fresh ``mmap``; and each worker samples its threads' stacks every 10 ms for the
    dashboard's profile. The runs are short and their memory bounded, and there is no dashboard.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set(LOCAL_WORKER_CONFIG):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            host="127.0.0.1", dashboard_address=None)


class DaskExecutor:
    """Chunks as tasks of a Dask ``distributed`` cluster (local or at ``address``)."""

    kind = "dask"

    def __init__(self, workers: int, address: str | None = None):
        self.workers = workers
        self.address = address
        self.cluster = None
        self.client = None
        self._pending: set = set()

    def __enter__(self):
        try:
            from distributed import Client
        except ImportError as e:  # pragma: no cover - the [dask] extra is installed by make venv
            raise ConfigError("executor", "dask", "an installed dask[distributed]",
                              "pip install 'rpb-sim[dask]'") from e
        if self.address is None:
            self.cluster = local_cluster(self.workers)
            self.client = Client(self.cluster)
        else:
            self.client = Client(self.address)
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        # import the model on every worker now, in parallel, not inside the first task
        from .tasks import warm_up

        self.client.run(warm_up)
        return self

    def __exit__(self, *exc):
        if self._pending:
            self.client.cancel(list(self._pending))
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False

    def imap_unordered(self, fn: Callable, chunks: list, ctx) -> Iterator[tuple[list, object]]:
        from distributed import as_completed

        futures = {}
        for chunk in chunks:
            fut = self.client.submit(fn, chunk, ctx, pure=False)
            futures[fut.key] = (fut, chunk)
        self._pending = {f for f, _ in futures.values()}
        for fut in as_completed(list(self._pending)):
            try:
                result = fut.result()
            except Exception as e:  # noqa: BLE001 - e.g. KilledWorker: its worker died repeatedly
                result = e
            _, chunk = futures.pop(fut.key)
            self._pending.discard(fut)
            fut.release()  # let the cluster drop the result
            yield chunk, result


def make_executor(kind: str, workers: int | None = None, address: str | None = None):
    """The executor ``kind`` (``processes``, ``dask`` or ``serial``) with ``workers``
    (default ``os.cpu_count()``)."""
    if kind not in EXECUTORS:
        raise ConfigError("executor", kind, "one of " + ", ".join(EXECUTORS))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError("workers", workers, "null (all cores) or an integer >= 1")
    if address is not None and kind != "dask":
        raise ConfigError("address", address, "null unless executor is dask")
    n = workers or os.cpu_count() or 1
    if kind == "serial":
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(n)
    return DaskExecutor(n, address)

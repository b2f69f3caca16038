"""Where the chunks of an experiment run: in this process, a local process pool, or Dask.

Every executor is a context manager with one method, ``imap_unordered(fn, chunks, ctx)``,
that yields ``(chunk, result)`` as chunks finish, in any order, each run exactly once;
``result`` is ``fn(chunk, ctx)`` or the exception that lost the whole chunk (:class:`WorkerDied`:
its worker process died on every attempt). Runs that merely raise never get here:
:func:`sim.experiments.tasks.run_one` records them as failed.

**A worker process that dies** (killed, out of memory, a crash in native code) costs a retry,
not a run: the chunks it held are run again (a chunk of several runs split into up to
:data:`SPLIT` smaller ones, so that one run that kills its worker takes no other run with it),
and a single run whose worker dies :data:`MAX_ATTEMPTS` times is given up on (its row says so).

* local pool: the pool breaks (``BrokenProcessPool``); the executor starts a fresh one and
  resubmits the chunks that did not finish. Each worker notes the chunk it starts in shared
  memory, so the chunk of the worker that died by itself (not one the pool then terminated) is
  the one charged with the death; the others are simply resubmitted.
* Dask: the scheduler itself reruns the tasks of a worker that died (the nanny starts a new
  worker) and gives up with ``KilledWorker`` after ``distributed.scheduler.allowed-failures``
  more deaths; the executor then splits a chunk of several runs and resubmits the pieces, and
  records a single run as failed. :func:`local_cluster` sets ``allowed-failures`` to
  ``MAX_ATTEMPTS - 1`` and ``worker-saturation`` to 1.0 (one task per single-threaded worker
  at a time, so a death charges only the task that was running).

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

import itertools
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator

from ..config import ConfigError

__all__ = ["EXECUTORS", "MAX_ATTEMPTS", "DaskExecutor", "ProcessExecutor", "SerialExecutor",
           "WorkerDied", "local_cluster", "make_executor", "start_method"]

EXECUTORS = ("processes", "dask", "serial")
#: Modules a fresh worker imports before its first task (the model and the task runner).
WORKER_MODULES = ["sim.experiments.tasks", "sim.experiments.executors"]
#: Times a single run is started before a worker process dying under it is final.
MAX_ATTEMPTS = 3
#: A chunk of several runs whose worker died is run again as up to this many smaller chunks.
SPLIT = 16


class WorkerDied(RuntimeError):
    """The worker process running a chunk died (killed, out of memory, crashed) on every
    attempt; the executor gave up on the chunk. Its message is the error of the chunk's rows."""


def split(chunk: list, pieces: int = SPLIT) -> list[list]:
    """``chunk`` cut into at most ``pieces`` contiguous, nearly equal chunks (none empty)."""
    n = min(pieces, len(chunk))
    bounds = [round(i * len(chunk) / n) for i in range(n + 1)]
    return [chunk[a:b] for a, b in itertools.pairwise(bounds)]


def describe_exit(code: int | None) -> str:
    """A worker's exit code in words (``-9``: killed by SIGKILL, as the out-of-memory killer does)."""
    if code is None:
        return "cause unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return f"killed by {name}: killed, or out of memory"
        return f"killed by {name}"
    return f"it exited with status {code}"


def worker_died_text(how: str, attempts: int) -> str:
    return (f"the worker process died while running this run ({how}) on each of {attempts} "
            "attempts; the other runs went on, and running the experiment again tries this one again")


class SerialExecutor:
    """Runs chunks one after the other in this process."""

    kind = "serial"
    workers = 1
    worker_deaths = 0

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


#: In a pool worker: slot of a submitted chunk -> pid of the worker that started it (shared
#: memory of the current pool, set by :func:`_init_worker`).
_STARTED = None


def _init_worker(started) -> None:
    global _STARTED
    _STARTED = started


def _tracked(fn: Callable, slot: int, chunk: list, ctx):
    """``fn(chunk, ctx)``, noting first in the pool's shared memory that this process runs it."""
    if _STARTED is not None:
        _STARTED[slot] = os.getpid()
    return fn(chunk, ctx)


class ProcessExecutor:
    """A local pool of worker processes (see the module docstring for the start method and for
    what happens when a worker dies)."""

    kind = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None
        self.worker_deaths = 0  # worker processes that died by themselves (the pool restarted)

    def __enter__(self):
        self._mp = multiprocessing.get_context(start_method())
        if self._mp.get_start_method() == "forkserver":
            self._mp.set_forkserver_preload(WORKER_MODULES)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.pool is not None:
            if exc_type is not None:  # interrupted: do not wait for the chunks in flight
                for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
                    proc.terminate()
            self.pool.shutdown(wait=exc_type is None, cancel_futures=True)
            self.pool = None
        return False

    def _start_pool(self, n_slots: int):
        from concurrent.futures import ProcessPoolExecutor

        started = self._mp.RawArray("q", max(1, n_slots))
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self._mp,
                                        initializer=_init_worker, initargs=(started,))
        return started

    def _close_broken(self) -> dict[int, int | None]:
        """Shut the broken pool down; the exit code of each of its processes (by pid)."""
        procs = dict(getattr(self.pool, "_processes", None) or {})
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None
        for proc in procs.values():
            proc.join(timeout=10)
        return {pid: proc.exitcode for pid, proc in procs.items()}

    def imap_unordered(self, fn: Callable, chunks: list, ctx) -> Iterator[tuple[list, object]]:
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        todo = [(chunk, 0) for chunk in chunks]  # (chunk, times its own worker died under it)
        while todo:
            started = self._start_pool(len(todo))
            futures, lost = {}, []
            for slot, (chunk, _) in enumerate(todo):
                try:
                    futures[self.pool.submit(_tracked, fn, slot, chunk, ctx)] = slot
                except BrokenProcessPool:  # a worker died while the chunks were being sent
                    lost.extend(range(slot, len(todo)))
                    break
            for fut in as_completed(futures):
                slot = futures[fut]
                try:
                    result = fut.result()
                except BrokenProcessPool:  # a worker died: this chunk did not finish
                    lost.append(slot)
                    continue
                except Exception as e:  # noqa: BLE001 - the chunk could not be sent or returned
                    result = e
                yield todo[slot][0], result
            if not lost:
                self.pool.shutdown(wait=True)
                self.pool = None
                return
            codes = self._close_broken()
            self.worker_deaths += max(1, sum(c not in (None, 0, -signal.SIGTERM) for c in codes.values()))
            todo, given_up = self._after_death(todo, sorted(lost), started, codes)
            yield from given_up

    @staticmethod
    def _after_death(todo, lost, started, codes):
        """The chunks to run again after the pool broke, and the ``(chunk, WorkerDied)`` given
        up on. Charged with the death: the chunks whose worker died by itself (not terminated
        by the pool afterwards); when none is known, every chunk that had started."""
        died = {pid: code for pid, code in codes.items()
                if code is not None and code not in (0, -signal.SIGTERM)}
        charged = {slot for slot in lost if started[slot] in died}
        if not charged:
            charged = {slot for slot in lost if started[slot]} or set(lost)
        again, given_up = [], []
        for slot in lost:
            chunk, deaths = todo[slot]
            if slot not in charged:
                again.append((chunk, deaths))
            elif len(chunk) > 1:  # find the run that kills its worker, keep the others
                again.extend((piece, 0) for piece in split(chunk))
            elif deaths + 1 >= MAX_ATTEMPTS:
                code = died.get(started[slot], next(iter(died.values()), None))
                how = describe_exit(code)
                given_up.append((chunk, WorkerDied(worker_died_text(how, deaths + 1))))
            else:
                again.append((chunk, deaths + 1))
        return again, given_up


#: Dask settings of the workers :func:`local_cluster` starts.
LOCAL_WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    # a task whose worker died MAX_ATTEMPTS times is given up on (KilledWorker) ...
    "distributed.scheduler.allowed-failures": MAX_ATTEMPTS - 1,
    # ... and only the task that was running counts: one task per single-threaded worker
    "distributed.scheduler.worker-saturation": 1.0,
}

#: Dask settings held while :class:`DaskExecutor` runs its local cluster: a worker whose
#: process died is restarted by its nanny; without this, a ``LocalCluster`` closes the nanny
#: of a worker that is still gone 15 s after a death (``lost-worker-timeout``), so a run that
#: kills its worker again and again could take every worker with it and leave the experiment
#: waiting forever.
LOCAL_CLUSTER_CONFIG = {"distributed.deploy.lost-worker-timeout": "3650 days"}


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes on 127.0.0.1,
    without a dashboard.

    Two Dask defaults that cost model runs time are off here (see :data:`LOCAL_WORKER_CONFIG`):
    nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (to hand freed memory back to
    the OS), which with glibc also pins the mmap threshold, so every large numpy array is a
    fresh ``mmap``; and each worker samples its threads' stacks every 10 ms for the
    dashboard's profile. The runs are short and their memory bounded, and there is no dashboard.
    The scheduler gives up on a task after :data:`MAX_ATTEMPTS` worker deaths and sends each
    worker one task at a time (see the module docstring).
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
        self._held_config = None
        self._pending: set = set()
        #: chunks Dask gave up on (KilledWorker) and this executor split or recorded as failed;
        #: the deaths the scheduler retried by itself are not seen here
        self.killed_worker = 0

    def __enter__(self):
        try:
            from distributed import Client
        except ImportError as e:  # pragma: no cover - the [dask] extra is installed by make venv
            raise ConfigError("executor", "dask", "an installed dask[distributed]",
                              "pip install 'rpb-sim[dask]'") from e
        if self.address is None:
            import dask

            # held while the cluster runs (read by its event loop, not when it is made)
            self._held_config = dask.config.set(LOCAL_CLUSTER_CONFIG)
            try:
                self.cluster = local_cluster(self.workers)
                self.client = Client(self.cluster)
            except BaseException:
                if self.cluster is not None:
                    self.cluster.close()
                self._held_config.__exit__(None, None, None)
                self._held_config = None
                raise
        else:
            self.client = Client(self.address)
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        # import the model on every worker now, in parallel, not inside the first task
        from .tasks import warm_up

        self.client.run(warm_up)
        return self

    def __exit__(self, *exc):
        try:
            if self._pending:
                self.client.cancel(list(self._pending))
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            if self._held_config is not None:
                self._held_config.__exit__(None, None, None)
                self._held_config = None
        return False

    def imap_unordered(self, fn: Callable, chunks: list, ctx) -> Iterator[tuple[list, object]]:
        from distributed import KilledWorker, as_completed

        futures = {}
        for chunk in chunks:
            fut = self.client.submit(fn, chunk, ctx, pure=False)
            futures[fut.key] = (fut, chunk)
        self._pending = {f for f, _ in futures.values()}
        done = as_completed(list(self._pending))
        for fut in done:
            _, chunk = futures.pop(fut.key)
            self._pending.discard(fut)
            try:
                result = fut.result()
            except KilledWorker as e:  # its workers died allowed-failures + 1 times
                self.killed_worker += 1
                if len(chunk) > 1:  # find the run that kills its worker, keep the others
                    for piece in split(chunk):
                        again = self.client.submit(fn, piece, ctx, pure=False)
                        futures[again.key] = (again, piece)
                        self._pending.add(again)
                        done.add(again)
                    fut.release()
                    continue
                how = "killed, or out of memory; Dask gave up on it: KilledWorker"
                result = WorkerDied(worker_died_text(how, e.allowed_failures + 1))
            except Exception as e:  # noqa: BLE001 - e.g. the chunk could not be sent
                result = e
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

"""Test functions with known sensitivity indices, in the ``run_fn`` form of
:func:`sim.experiments.run`: ``fn(params, scenario, seed) -> dict[str, float]``.

They check the experiment pipeline end to end (design → runs → table → indices) in
milliseconds, without the model. Module-level, so the process and Dask executors can send them.
:class:`KillWorker` and :class:`Sleepy` wrap :func:`ishigami` to inject faults (a worker
process killed at chosen points; runs slow enough to be interrupted).
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import time
from pathlib import Path

__all__ = ["ISHIGAMI_A", "ISHIGAMI_B", "KillWorker", "Sleepy", "ishigami", "ishigami_indices"]

ISHIGAMI_A = 7.0
ISHIGAMI_B = 0.1


def ishigami(params: dict[str, float], scenario: str = "fn", seed: int = 0) -> dict[str, float]:
    """Ishigami & Homma (1990): ``y = sin x1 + a sin² x2 + b x3⁴ sin x1`` (a = 7, b = 0.1),
    for ``x1, x2, x3`` uniform on ``[-π, π]``. Deterministic: ``scenario`` and ``seed`` are
    ignored."""
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    y = math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)
    return {"y": y}


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, dict[str, float]]:
    """Analytic first-order (``S1``) and total (``ST``) Sobol' indices of :func:`ishigami`."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": {"x1": v1 / v, "x2": v2 / v, "x3": 0.0},
            "ST": {"x1": (v1 + v13) / v, "x2": v2 / v, "x3": v13 / v}}


class KillWorker:
    """A ``run_fn`` like :func:`ishigami` that kills its own process (``SIGKILL``, as the
    out-of-memory killer does) at the points whose lever ``lever`` has one of ``values``: the
    first ``times`` times such a point is reached (each scenario counted apart), or every time
    when ``times`` is None; other calls return :func:`ishigami`.

    Each kill first creates a marker file in ``marker_dir`` (claimed atomically, so concurrent
    workers do not kill more than ``times`` times per point); :meth:`kills` counts them. An
    instance is picklable, so it reaches fresh worker processes whatever their environment.
    """

    def __init__(self, marker_dir: str | os.PathLike, lever: str, values, times: int | None = 1,
                 sleep: float = 0.0):
        self.marker_dir = str(marker_dir)
        self.lever = lever
        self.values = frozenset(float(v) for v in values)
        self.times = times
        self.sleep = sleep

    def __call__(self, params: dict[str, float], scenario: str = "fn", seed: int = 0) -> dict[str, float]:
        if self.sleep:
            time.sleep(self.sleep)
        value = float(params[self.lever])
        if value in self.values and self._claim(f"{scenario}|{self.lever}={value!r}"):
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)  # not reached: SIGKILL cannot be caught
        return ishigami(params, scenario, seed)

    def _claim(self, point: str) -> bool:
        """Whether this call is to kill: creates the next free marker of ``point``."""
        stem = hashlib.sha1(point.encode()).hexdigest()[:16]
        if self.times is None:
            Path(self.marker_dir, f"{stem}.{os.getpid()}-{time.monotonic_ns()}.kill").touch()
            return True
        for k in range(self.times):
            try:
                os.close(os.open(Path(self.marker_dir, f"{stem}.{k}.kill"), os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                continue
            return True
        return False

    def kills(self) -> int:
        """How many times a process was killed so far (the markers in ``marker_dir``)."""
        return len(list(Path(self.marker_dir).glob("*.kill")))


class Sleepy:
    """A ``run_fn``: :func:`ishigami` after sleeping ``seconds`` (runs slow enough to interrupt)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __call__(self, params: dict[str, float], scenario: str = "fn", seed: int = 0) -> dict[str, float]:
        time.sleep(self.seconds)
        return ishigami(params, scenario, seed)

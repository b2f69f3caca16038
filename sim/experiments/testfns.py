"""Test functions with known sensitivity indices, in the ``run_fn`` form of
:func:`sim.experiments.run`: ``fn(params, scenario, seed) -> dict[str, float]``.

They check the experiment pipeline end to end (design → runs → table → indices) in
milliseconds, without the model. Module-level, so the process and Dask executors can send them.
"""

from __future__ import annotations

import math

__all__ = ["ISHIGAMI_A", "ISHIGAMI_B", "ishigami", "ishigami_indices"]

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

"""Small numeric helpers for the hot loop.

:func:`clip` is the ufunc behind :func:`numpy.clip`. For float arrays with both bounds given,
``np.clip(a, lo, hi)`` ends in exactly this call (``numpy/_core/_methods.py::_clip``), so the
results are the same bit for bit; calling the ufunc directly skips several microseconds of
Python-level argument handling, which adds up over thousands of calls on small arrays.
Use it only on float arrays (integer arrays need ``np.clip``'s out-of-range handling).

:func:`binomial` is ``rng.binomial(n, p)`` for 1-D arrays, made cheaper for a few elements.
"""

from __future__ import annotations

import numpy as np

try:
    from numpy._core.umath import clip
except ImportError:  # numpy < 2
    from numpy.core.umath import clip

__all__ = ["binomial", "clip"]

#: Up to this many elements :func:`binomial` draws element by element.
SMALL_BINOMIAL = 8


def binomial(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(k,) int64 draws of ``rng.binomial(n, p)`` for 1-D ``n`` (integers) and ``p`` of size k.

    The array call draws each element in turn with the same per-element routine (and the same
    generator state) that a scalar call uses, so one scalar call per element gives the same
    values and leaves the generator in the same state (an element with n = 0 or p = 0 draws
    nothing either way). For a few elements that is cheaper: the array call first checks
    the whole arrays (≈ 6 µs), a scalar call checks its two numbers (≈ 0.5 µs a call).
    """
    if n.size > SMALL_BINOMIAL:
        return rng.binomial(n, p)
    draw = rng.binomial
    return np.array([draw(k, q) for k, q in zip(n.tolist(), p.tolist())], np.int64)

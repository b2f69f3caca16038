"""Small numeric helpers for the hot loop.

:func:`clip` is the ufunc behind :func:`numpy.clip`. For float arrays with both bounds given,
``np.clip(a, lo, hi)`` ends in exactly this call (``numpy/_core/_methods.py::_clip``), so the
results are the same bit for bit; calling the ufunc directly skips several microseconds of
Python-level argument handling, which adds up over thousands of calls on small arrays.
Use it only on float arrays (integer arrays need ``np.clip``'s out-of-range handling).
"""

from __future__ import annotations

try:
    from numpy._core.umath import clip
except ImportError:  # numpy < 2
    from numpy.core.umath import clip

__all__ = ["clip"]

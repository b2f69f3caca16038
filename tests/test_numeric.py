"""The shortcuts of :mod:`sim.numeric` give exactly what the numpy calls they replace give.

:func:`sim.numeric.binomial` draws a few elements one scalar ``rng.binomial`` call at a time
(cheaper than one array call); the values *and the generator state afterwards* must equal
``rng.binomial(n, p)``'s, or every later draw of a run would change.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.numeric import SMALL_BINOMIAL, binomial, clip

probabilities = st.one_of(st.sampled_from([0.0, 1.0, 0.5, 1e-12, 1.0 - 1e-12]),
                          st.floats(0.0, 1.0))
counts = st.one_of(st.sampled_from([0, 1, 1000, 10**6]), st.integers(0, 200))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data(), k=st.integers(0, SMALL_BINOMIAL + 3), seed=st.integers(0, 2**32 - 1))
def test_binomial_equals_numpy_values_and_generator_state(data, k, seed):
    n = np.array(data.draw(st.lists(counts, min_size=k, max_size=k)), np.int64)
    p = np.array(data.draw(st.lists(probabilities, min_size=k, max_size=k)), float)
    ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
    got, want = binomial(ours, n, p), theirs.binomial(n, p)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert ours.bit_generator.state == theirs.bit_generator.state
    assert ours.random() == theirs.random()


def test_clip_is_np_clip_on_floats():
    x = np.array([-1.0, 0.0, 0.25, 1.0, 2.0, np.nan])
    np.testing.assert_array_equal(clip(x, 0.0, 1.0), np.clip(x, 0.0, 1.0))

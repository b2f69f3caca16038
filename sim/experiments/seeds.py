"""Seeds of an experiment: one numpy ``SeedSequence`` per replicate (common random numbers).

Replicate ``r`` of every design point and every scenario runs the model with the same seed,
so differences between points and scenarios are not blurred by different random draws
(common random numbers, CRN). The seed of replicate ``r`` is::

    SeedSequence(master_seed, spawn_key=(r,)).generate_state(1)[0]

which is exactly the ``r``-th child of ``SeedSequence(master_seed).spawn(R)``, for any
``R > r``: adding replicates never changes the seeds of the existing ones. The model seed is
an unsigned 32-bit integer (the schema's ``seed`` range, ``[0, 2**32 - 1]``).

The random draws of the *design* (Latin hypercube, scrambled Sobol', Morris trajectories)
come from a separate stream, ``SeedSequence([master_seed, DESIGN_STREAM])``, which shares
no state with any replicate's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DESIGN_STREAM", "MAX_SEED", "design_rng", "replicate_seed", "replicate_seeds"]

#: Largest master seed (and model seed): the schema's ``seed`` range is ``[0, 2**32 - 1]``.
MAX_SEED = 2**32 - 1
#: Second entropy word of the design's stream (ASCII "DESI"); keeps it apart from replicates.
DESIGN_STREAM = 0x44455349


def replicate_seed(master_seed: int, replicate: int) -> int:
    """The model seed (int in ``[0, 2**32 - 1]``) of replicate ``replicate`` (0-based)."""
    seq = np.random.SeedSequence(int(master_seed), spawn_key=(int(replicate),))
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def replicate_seeds(master_seed: int, replicates: int) -> list[int]:
    """Model seeds of replicates ``0 .. replicates - 1`` (a prefix of any longer list)."""
    return [replicate_seed(master_seed, r) for r in range(int(replicates))]


def design_rng(master_seed: int) -> np.random.Generator:
    """The generator the design samples its points with (independent of every replicate)."""
    return np.random.default_rng(np.random.SeedSequence([int(master_seed), DESIGN_STREAM]))

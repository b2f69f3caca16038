"""Reference timing: Mesa 3.5.1's own Boltzmann wealth example.

Gives a machine-local yardstick ("how fast is a trivial Mesa model here?")
against which RPB-Sim's per-agent-step cost can be compared.  The model is
imported unchanged from the Mesa distribution
(``mesa.examples.basic.boltzmann_wealth_model.model``, present in
mesa==3.5.1), so the number tracks whatever Mesa itself does in
``model.step()``: ``agents.shuffle_do("step")`` plus the example's
``DataCollector.collect`` (Gini + per-agent wealth).

The example's default scenario is 100 agents on a 10x10 grid (one agent per
cell on average); we keep that density by using a ceil(sqrt(n)) square grid.
"""

from __future__ import annotations

import math
import statistics
import time

from mesa.examples.basic.boltzmann_wealth_model.model import (
    BoltzmannScenario,
    BoltzmannWealth,
)


def _build(n_agents: int, seed: int) -> BoltzmannWealth:
    side = max(1, math.ceil(math.sqrt(n_agents)))
    scenario = BoltzmannScenario(rng=seed, n=n_agents, width=side, height=side)
    return BoltzmannWealth(scenario=scenario)


def boltzmann_us_per_agent_step(n_agents: int, steps: int, repeats: int) -> float:
    """Median wall-clock microseconds per agent-step of ``model.step()``.

    Each repeat builds a fresh model (not timed), then times ``steps`` calls
    of ``model.step()``; the repeat's cost is that time divided by
    ``n_agents * steps``.  Returns the median over ``repeats``.
    """
    if n_agents < 1 or steps < 1 or repeats < 1:
        raise ValueError("n_agents, steps and repeats must all be >= 1")
    samples = []
    for r in range(repeats):
        model = _build(n_agents, seed=r)
        step = model.step
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        elapsed = time.perf_counter() - t0
        samples.append(elapsed * 1e6 / (n_agents * steps))
    return statistics.median(samples)


if __name__ == "__main__":
    for n in (1_000, 10_000):
        us = boltzmann_us_per_agent_step(n, steps=20, repeats=5)
        print(f"Boltzmann (mesa example) n={n:>6}: {us:.3f} us/agent-step")

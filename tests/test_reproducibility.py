"""Same config + seed → identical results, serially, through RegionModel, and in worker
processes; a different seed gives a different run."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest
from helpers import ALL_PATHS, assert_run_results_equal, stepped

import sim

STEPS = 12
OVERRIDES = ["population=classroom", "market.outsourcing=0.3",
             "empowerment.responsibility_list=0.3", "items.max_age=5"]


def classroom_run(seed: int) -> sim.RunResult:
    return sim.run(seed=seed, steps=STEPS, overrides=OVERRIDES)


def tables(seed: int) -> tuple:
    """A worker's result as plain tables (picklable whatever RunResult holds)."""
    r = classroom_run(seed)
    return r.timeseries, r.summary, r.items, r.handoffs


def test_same_seed_identical_everything():
    a, b = classroom_run(4), classroom_run(4)
    assert_run_results_equal(a, b)
    assert a.assignment_stats == b.assignment_stats
    assert sim.config.to_dict(a.config) == sim.config.to_dict(b.config)


def test_same_seed_identical_default_population():
    a = sim.run(seed=1, steps=3)
    b = sim.run(seed=1, steps=3)
    assert_run_results_equal(a, b)


def test_different_seed_differs():
    a, b = classroom_run(4), classroom_run(5)
    assert not a.timeseries.equals(b.timeseries)
    assert a.summary != b.summary
    assert not a.handoffs.equals(b.handoffs)


def test_seed_is_recorded_in_the_config():
    assert classroom_run(7).config.seed == 7


def _spawn_pool():
    # spawn: the workers share nothing with this process but what they import
    return ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))


def test_parallel_worker_runs_equal_serial_runs():
    seeds = [11, 12]
    with _spawn_pool() as pool:
        parallel = list(pool.map(tables, seeds))
    for seed, (ts, summary, items, handoffs) in zip(seeds, parallel):
        serial = classroom_run(seed)
        pd.testing.assert_frame_equal(ts, serial.timeseries)
        assert summary == serial.summary
        pd.testing.assert_frame_equal(items, serial.items)
        pd.testing.assert_frame_equal(handoffs, serial.handoffs)
    assert not parallel[0][0].equals(parallel[1][0])


def test_sim_run_results_come_back_from_worker_processes():
    """sim.run submitted as-is to a process pool: its RunResult must cross the process
    boundary (runner.py promises parallel designs)."""
    seeds = [11, 12]
    with _spawn_pool() as pool:
        futures = [pool.submit(sim.run, seed=s, steps=STEPS, overrides=OVERRIDES) for s in seeds]
        results = [f.result() for f in futures]
    for seed, r in zip(seeds, results):
        assert_run_results_equal(r, classroom_run(seed))


def test_run_result_and_validated_config_pickle_round_trip():
    r = sim.run(seed=1, steps=2, overrides=["population=classroom"],
                interventions=[{"step": 2, "set": {"admin.burden": 0.2}}])
    cfg = pickle.loads(pickle.dumps(r.config))
    assert sim.config.to_dict(cfg) == sim.config.to_dict(r.config)
    again = pickle.loads(pickle.dumps(r))
    assert_run_results_equal(again, r)


def test_config_error_crosses_process_boundaries():
    err = sim.ConfigError("admin.burden", 3, "number in [0, 1]", "too big")
    back = pickle.loads(pickle.dumps(err))
    assert (back.field, back.value, back.allowed, str(back)) == \
        (err.field, err.value, err.allowed, str(err))


@pytest.mark.parametrize("seed", [5, 0])
def test_region_model_rng_equals_run_seed(seed):
    model = stepped(sim.RegionModel(rng=seed, population="classroom"), STEPS)
    result = sim.run(seed=seed, steps=STEPS, overrides=["population=classroom"])
    pd.testing.assert_frame_equal(model.timeseries(), result.timeseries)
    assert model.config.seed == seed


def test_region_model_accepts_a_numpy_generator():
    import numpy as np

    a = stepped(sim.RegionModel(rng=np.random.default_rng(9), population="classroom"), 4)
    b = stepped(sim.RegionModel(rng=np.random.default_rng(9), population="classroom"), 4)
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())


def test_steps_setting_does_not_change_the_trajectory():
    """A 20-step run's first 10 steps equal a 10-step run (nothing depends on the horizon)."""
    long = sim.run(seed=3, steps=20, overrides=ALL_PATHS)
    short = sim.run(seed=3, steps=10, overrides=ALL_PATHS)
    pd.testing.assert_frame_equal(long.timeseries.loc[:10], short.timeseries)

"""RPB-Sim (区域化党建仿真): an agent-based simulation of regional Party building.

Public API::

    import sim
    result = sim.run("baseline", seed=1, overrides=["admin.burden=0.8"])
    result.summary["return_flow_rate"]; result.timeseries; result.items

    model = sim.RegionModel(rng=1, admin__burden=0.8)   # a mesa.Model
    model.step()
"""

from .compose import compose, list_scenarios
from .config import ConfigError, RPBConfig
from .io import RunLoadError
from .metrics import METRIC_NAMES, METRICS
from .model import RegionModel
from .runner import RunResult, run, run_config

__all__ = [
           "METRICS",
           "METRIC_NAMES",
           "ConfigError",
           "RPBConfig",
           "RegionModel",
           "RunLoadError",
           "RunResult",
           "compose",
           "list_scenarios",
           "run",
           "run_config",
]
__version__ = "0.1.0"

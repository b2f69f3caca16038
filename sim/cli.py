"""``rpbsim``: the hydra command line.

    rpbsim                                   # baseline, default district, 104 weeks
    rpbsim spin_up=52 steps=156              # a shorter spin-up before week 1, a longer run
    rpbsim scenario=co_governance population=classroom admin.burden=0.8 seed=3
    rpbsim 'interventions=[{step: 52, set: {empowerment.responsibility_list: 0.8}}]'

Results go to ``results/`` inside hydra's run directory
(``outputs/<scenario>/<timestamp>/results/``): the tables (timeseries, summary, streets,
by_street, items, handoffs) and ``metadata.json``; see :func:`sim.io.save_run`. Invalid values
stop the run before anything is built, with a message naming the field, the value and the
allowed range (exit status 2).

Multirun (``rpbsim -m admin.burden=0.2,0.5,0.8 seed=1,2``, any hydra launcher): the whole grid
is checked against the schema before hydra starts (an invalid value: the same message, exit
status 2, nothing written); each job writes ``job.json`` into its job dir and prints one line;
the sweep dir gets ``runs.parquet`` + ``runs.csv`` at the end. See :mod:`sim.sweep` and
``docs/sweeps.md``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from .config import ConfigError, RPBConfig, from_dict, register_configs, validate

__all__ = ["CliConfig", "config_from_hydra", "main", "run_and_save"]

CLI_KEYS = ("progress", "save_items")


@dataclass
class CliConfig(RPBConfig):
    """The schema plus options of the command line itself (not model parameters)."""

    progress: bool = True
    save_items: bool = True


register_configs()
ConfigStore.instance().store(name="rpb_cli", node=CliConfig)


def config_from_hydra(cfg: DictConfig) -> RPBConfig:
    """The validated model config of a composed hydra config (CLI options dropped)."""
    data = OmegaConf.to_container(cfg, resolve=True)
    for key in CLI_KEYS:
        data.pop(key, None)
    return validate(from_dict(data))


def print_summary(summary: dict, stream=sys.stdout) -> None:
    """Print the run summary: per metric its value over weeks 1..T (mean, or pooled rate with
    its denominator n), its final value, and its label; then the amplitude and item counts.
    Missing values (a rate with nothing counted) print as ``nan``."""
    from .metrics import METRICS

    print(f"{'metric':<28}{'weeks 1..T':>12}{'final':>12}{'n':>9}   label", file=stream)
    for m in METRICS:
        n = f"{summary[m.name + '_n']:>9.0f}" if m.is_rate else " " * 9
        print(f"{m.name:<28}{summary[m.name]:>12.4f}{summary[m.name + '_final']:>12.4f}{n}   "
              f"{m.zh} / {m.en}", file=stream)
    print(f"{'participation_amplitude':<28}{summary['participation_amplitude']:>12.4f}", file=stream)
    print(f"items: open at start {summary['items_open_at_start']:.0f}, "
          f"created {summary['items_created']:.0f}, closed {summary['items_closed']:.0f} "
          f"(solved {summary['items_solved']:.0f}), expired {summary['items_expired']:.0f}, "
          f"open {summary['items_open']:.0f}", file=stream)


def run_and_save(model_cfg: RPBConfig, cfg: DictConfig, out_dir, *, progress: bool):
    """Run a validated config and save its results into ``out_dir`` (item tables only when
    ``cfg.save_items``); returns the result and the directory written."""
    from .io import save_run
    from .runner import run_config

    result = run_config(model_cfg, progress=progress)
    if not cfg.save_items:
        result.items = result.handoffs = None
    return result, save_run(result, out_dir)


def run_single(cfg: DictConfig) -> None:
    """One run: validate (exit status 2 when invalid), run, save under the run dir, print the
    summary table."""
    try:
        model_cfg = config_from_hydra(cfg)
    except ConfigError as e:
        print(f"rpbsim: {e}", file=sys.stderr)
        sys.exit(2)
    out_dir = HydraConfig.get().runtime.output_dir + "/results"
    result, out = run_and_save(model_cfg, cfg, out_dir, progress=bool(cfg.progress))
    print_summary(result.summary)
    print(f"results written to {out}")


def is_multirun() -> bool:
    """Whether the current hydra job is part of a multirun."""
    from hydra.types import RunMode

    return HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def _app(cfg: DictConfig) -> None:
    import logging

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    if is_multirun():
        from .sweep import run_job

        run_job(cfg)
    else:
        run_single(cfg)


def check_sweep_or_exit(argv) -> None:
    """Refuse an invalid multirun grid before hydra writes anything (exit status 2)."""
    from .sweep import check_command_line

    try:
        check_command_line(argv)
    except ConfigError as e:
        print(f"rpbsim: {e}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    check_sweep_or_exit(sys.argv[1:])
    _app()


if __name__ == "__main__":
    main()

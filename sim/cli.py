"""``rpbsim``: the hydra command line.

    rpbsim                                   # baseline, default district, 104 weeks
    rpbsim spin_up=52 steps=156              # a shorter spin-up before week 1, a longer run
    rpbsim scenario=co_governance population=classroom admin.burden=0.8 seed=3
    rpbsim 'interventions=[{step: 52, set: {empowerment.responsibility_list: 0.8}}]'

    rpbsim scenario=my_scenario.yaml seed=2      # a scenario file of your own (YAML overrides)

Results go to ``results/`` inside hydra's run directory
(``outputs/<scenario>/<timestamp>/results/``): the tables (timeseries, summary, streets,
by_street, items, handoffs) and ``metadata.json``; see :func:`sim.io.save_run`.

Every argument is checked against the schema in :func:`main`, *before* hydra starts (so a
refused command writes nothing, not even hydra's ``outputs/…/.hydra/``): an invalid value, an
unknown field (``admin.burdon=0.5`` → ``unknown field 'admin.burdon' (did you mean
'admin.burden'?)``, also with a leading ``+``), an unknown scenario or population preset, a
malformed scenario file, a bad intervention, a config too large for this machine's memory —
each stops with the same message as the Python API (field, value, allowed range) and exit
status 2. A ``+`` before a field of the schema is dropped (the field exists: it is set). A run
that fails later removes its run directory when nothing but hydra's own files is in it, else
leaves ``FAILED.txt`` there (exit status 2 for an invalid input found while building, 1 for
any other failure, 130 when interrupted).

Multirun (``rpbsim -m admin.burden=0.2,0.5,0.8 seed=1,2``, any hydra launcher): the whole grid
is checked against the schema before hydra starts (an invalid value: the same message, exit
status 2, nothing written); each job writes ``job.json`` into its job dir and prints one line;
the sweep dir gets ``runs.parquet`` + ``runs.csv`` at the end. See :mod:`sim.sweep` and
``docs/sweeps.md``.
"""

from __future__ import annotations

import shutil
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from .config import ConfigError, RPBConfig, from_dict, register_configs, validate

__all__ = ["CliConfig", "check_arguments", "config_from_hydra", "main", "run_and_save"]

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
    summary table. A failure removes the run dir when it holds only hydra's own files, else
    marks it with ``FAILED.txt``."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        model_cfg = config_from_hydra(cfg)
        result, out = run_and_save(model_cfg, cfg, run_dir / "results", progress=bool(cfg.progress))
    except ConfigError as e:  # an invalid input found only when the model reads it
        discard_failed_run(run_dir, e)
        print(f"rpbsim: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:
        where = discard_failed_run(run_dir, e)
        print(f"rpbsim: interrupted{where}", file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - reported, the run dir cleaned up, exit status 1
        where = discard_failed_run(run_dir, e)
        traceback.print_exc(file=sys.stderr)
        print(f"rpbsim: run failed: {type(e).__name__}: {e}{where}", file=sys.stderr)
        sys.exit(1)
    print_summary(result.summary)
    print(f"results written to {out}")


#: What hydra writes into a run dir before the run starts (nothing of the run's own).
HYDRA_FILES = (".hydra",)


def _only_hydra_files(run_dir: Path) -> bool:
    for p in run_dir.rglob("*"):
        rel = p.relative_to(run_dir)
        if rel.parts[0] in HYDRA_FILES or p.is_dir():
            continue
        if len(rel.parts) == 1 and p.suffix == ".log":  # hydra's job log (cli.log)
            continue
        return False
    return True


def discard_failed_run(run_dir: Path, error: BaseException) -> str:
    """After a failed run: remove ``run_dir`` if nothing but hydra's files (``.hydra/``, the
    job log, empty folders) is in it, with the folders above it that this leaves empty (never
    the working directory); else write ``FAILED.txt`` (error and traceback) into it. Returns
    a note for the error message (empty when the dir was removed)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return ""
    if _only_hydra_files(run_dir):
        shutil.rmtree(run_dir, ignore_errors=True)
        cwd = Path.cwd().resolve()
        parent = run_dir.resolve().parent
        for _ in range(2):  # outputs/<name>/ and outputs/, when this run made them empty
            if parent == cwd or cwd.is_relative_to(parent) or not parent.is_relative_to(cwd):
                break
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
        return ""
    text = (f"This run FAILED; its results are incomplete.\n\n{type(error).__name__}: {error}\n\n"
            + "".join(traceback.format_exception(error)))
    marker = run_dir / "FAILED.txt"
    try:
        marker.write_text(text, encoding="utf-8")
    except OSError:
        return ""
    return f" (partial output marked failed: {marker})"


def is_multirun() -> bool:
    """Whether the current hydra job is part of a multirun."""
    from hydra.types import RunMode

    return HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path="pkg://sim.conf", config_name="config")
def _app(cfg: DictConfig) -> None:
    import logging

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    if is_multirun():
        from .sweep import run_job

        run_job(cfg)
    else:
        run_single(cfg)


# --------------------------------------------------------------------------- argv checks

#: Config groups and keys the command line accepts besides the schema's fields.
GROUP_KEYS = ("scenario", "population")


def _hydra_args(argv: Sequence[str]):
    """hydra's parse of ``argv``; None for shell completion and --experimental-rerun, and for
    arguments hydra's own parser refuses (hydra reports those itself). With --help, --cfg or
    --info the overrides are checked too (hydra would compose them)."""
    import argparse

    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()
    parser.exit_on_error = False
    try:
        args, unknown = parser.parse_known_args(list(argv))
    except argparse.ArgumentError:
        return None
    if unknown or args.shell_completion or args.experimental_rerun:
        return None
    return args


def _check_key(ov, text: str) -> None:
    """An override's key must be a field of the schema, a CLI option or a preset group."""
    from .config import _GROUPS, LIST_FIELDS, field_spec

    key = ov.key_or_group
    if ov.is_delete():
        from .compose import deletion_error

        raise deletion_error(key, text)
    if key == "experiment":
        raise ConfigError(key, text.split("=", 1)[-1], "a field of the schema",
                          "experiments run with `rpbsim-experiment NAME`", unknown=True)
    if key in GROUP_KEYS or key in LIST_FIELDS or key in CLI_KEYS:
        return
    if key in _GROUPS and ov.is_sweep_override() is False and isinstance(ov.value(), dict):
        for sub in ov.value():
            field_spec(f"{key}.{sub}")
        return
    from .suggest import field_names

    if key not in field_names():
        from .config import unknown_field

        raise unknown_field(key, text.split("=", 1)[-1],
                            [*field_names(extra=CLI_KEYS), *GROUP_KEYS])


def _hydra_literal(value: Any) -> str:
    """``value`` in hydra's override grammar (the inverse of hydra's parse)."""
    import re

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        quoted = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", value)
        quoted = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, quoted)
        return f"'{quoted}'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_hydra_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_hydra_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as a hydra override")


def scenario_file_overrides(path: str, given: Sequence[str] = ()) -> list[str]:
    """A scenario file's overrides as hydra override strings (``scenario=path`` on the command
    line; hydra's ``scenario`` group holds only the packaged presets). Keys in ``given`` (set
    on the command line too) are left out: the command line wins, as in the Python API."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from .compose import _flatten, load_scenario

    data = load_scenario(path)
    data.setdefault("name", Path(path).stem)
    out = []
    pop = data.pop("population", None)
    if isinstance(pop, str):
        data_items = [("population", pop)]
    else:
        data_items = [(f"population.{k}", v) for k, v in (pop or {}).items()]
    data_items += list(_flatten(data).items())
    parser = OverridesParser.create()
    for key, value in data_items:
        if key in given:
            continue
        text = f"{key}={value if key == 'population' else _hydra_literal(value)}"
        (ov,) = parser.parse_overrides([text])
        if ov.value() != value:  # never pass on a value hydra would read differently
            raise ConfigError(key, value, "a value the command line can pass on",
                              f"run this scenario file from Python: sim.run({path!r})", source=path)
        out.append(text)
    return out


def check_arguments(argv: Sequence[str]) -> list[str]:
    """Check the command line against the schema before hydra starts; return the arguments
    hydra should see (``+`` dropped before fields of the schema, a scenario file's contents
    passed on as overrides).

    Raises:
        ConfigError: the first invalid argument (nothing has been written yet).
    """
    from .sweep import (
        _parse_one,
        axis_values,
        check_command_line,
        check_grid,
        parse_grid,
    )

    argv = list(argv)
    args = _hydra_args(argv)
    if args is None:
        return argv
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    multirun = args.multirun or "hydra.mode=MULTIRUN" in args.overrides
    rewritten: dict[str, list[str]] = {}
    scenario_file = None
    for text in args.overrides:
        ov = _parse_one(parser, text)
        if ov.is_hydra_override():
            continue
        _check_key(ov, text)
        if ov.is_add():  # +admin.burden=0.5: the field exists, so this sets it
            rewritten[text] = [text[1:]]
        if ov.key_or_group == "scenario":
            values = axis_values(parser, ov, text)
            files = [v for v in values if isinstance(v, str) and _is_scenario_file(v)]
            if files and ov.is_sweep_override():
                raise ConfigError("scenario", files[0], "preset names in a sweep",
                                  "a scenario file can be run on its own, or swept from Python "
                                  "(sim.experiments)")
            if files:
                scenario_file = (text, files[0])
    overrides = [o for text in args.overrides for o in rewritten.get(text, [text])]
    if multirun:
        check_command_line(["-m", *overrides])
    else:
        check_grid(parse_grid(overrides))
    if scenario_file is not None:
        text, path = scenario_file
        given = {_parse_one(parser, o).key_or_group for o in overrides if o != text}
        idx = overrides.index(text)
        from_file = scenario_file_overrides(path, given)
        overrides[idx:idx + 1] = from_file
        if multirun:  # the file's keys are the same in every job: keep them out of job dir names
            overrides.append(_exclude_from_job_dirs([o.split("=", 1)[0] for o in from_file]))
    if not rewritten and scenario_file is None:
        return argv
    return _replace_overrides(argv, args.overrides, overrides)


def _exclude_from_job_dirs(keys: Sequence[str]) -> str:
    """The hydra override that adds ``keys`` to ``override_dirname.exclude_keys``."""
    from omegaconf import OmegaConf

    from .compose import CONF_DIR

    primary = OmegaConf.create((CONF_DIR / "config.yaml").read_text(encoding="utf-8"))
    excluded = list(OmegaConf.select(primary, "hydra.job.config.override_dirname.exclude_keys",
                                     default=[]) or [])
    excluded += [k for k in keys if k not in excluded]
    return f"hydra.job.config.override_dirname.exclude_keys=[{','.join(excluded)}]"


def _is_scenario_file(value: str) -> bool:
    return value.endswith((".yaml", ".yml")) or Path(value).is_file()


def _replace_overrides(argv: list[str], old: list[str], new: list[str]) -> list[str]:
    """``argv`` with its overrides (the positional arguments ``old``) replaced by ``new``."""
    flags = list(argv)
    for text in old:
        flags.remove(text)
    return flags + new


def check_arguments_or_exit(argv: Sequence[str]) -> list[str]:
    """:func:`check_arguments`, or the project's message on stderr and exit status 2."""
    try:
        return check_arguments(argv)
    except ConfigError as e:
        print(f"rpbsim: {e}", file=sys.stderr)
        sys.exit(2)


def check_sweep_or_exit(argv) -> None:
    """Refuse an invalid multirun grid before hydra writes anything (exit status 2)."""
    from .sweep import check_command_line

    try:
        check_command_line(argv)
    except ConfigError as e:
        print(f"rpbsim: {e}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    sys.argv[1:] = check_arguments_or_exit(sys.argv[1:])
    _app()


if __name__ == "__main__":
    main()

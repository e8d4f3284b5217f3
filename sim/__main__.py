"""``python -m sim``: run one simulation (or a sweep with ``--multirun``) configured by Hydra.

    python -m sim                                  # the default scenario (conf/config.yaml)
    python -m sim scale=0.01 years=5 seed=3 hydra.run.dir=out/demo
    python -m sim --multirun seed=1,2,3            # one run per seed, under multirun/
    python -m sim --help                           # the configuration and how to override it

Every output (Parquet tables, summary.json, plots, Hydra's .hydra/ record and the log) goes to
Hydra's output directory, ``hydra.run.dir`` (default ``outputs/<date>/<time>``). Mistakes in the
overrides are reported on one line on stderr, with exit status 2.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from sim.config import ConfigError, to_config
from sim.configure import CONF_DIR, check_command_line, register_schema

log = logging.getLogger("sim")

EXIT_USAGE = 2


def _fail(exc: BaseException) -> None:
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _quiet_mesa() -> None:
    for name in ("MESA", "mesa"):
        logging.getLogger(name).setLevel(logging.WARNING)


register_schema()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def task(dcfg: DictConfig) -> dict | None:
    """The Hydra task: validate, run, write everything to the job's output directory."""
    from hydra.core.hydra_config import HydraConfig

    _quiet_mesa()
    try:
        cfg = to_config(dcfg)
    except ConfigError as exc:
        _fail(exc)
    outdir = Path(HydraConfig.get().runtime.output_dir)

    from sim.run import run_simulation

    progress = {"on": True, "off": False}.get(cfg.output.progress)  # "auto": let the run decide
    try:
        res = run_simulation(cfg, progress=progress)
    except ConfigError as exc:
        _fail(exc)
    res.write(outdir)
    log.info("Wrote the results to %s", outdir)
    return res.summary


def main() -> None:
    _quiet_mesa()
    try:
        check_command_line(sys.argv[1:])
    except ConfigError as exc:
        _fail(exc)
    task()


if __name__ == "__main__":
    main()

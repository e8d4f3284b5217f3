"""``python -m sim``: run one simulation (or a sweep with ``--multirun``) configured by Hydra.

    python -m sim                                  # the default scenario (conf/config.yaml)
    python -m sim scale=0.01 years=5 seed=3 hydra.run.dir=out/demo
    python -m sim --multirun seed=1,2,3            # one run per seed, on every local core
    python -m sim --help                           # the configuration and how to override it

Every output (Parquet tables, summary.json, plots, Hydra's .hydra/ record and the log) goes to
Hydra's output directory, ``hydra.run.dir`` (default ``outputs/<date>/<time>``). Mistakes in the
overrides are reported on one line on stderr, with exit status 2. Ctrl-C or SIGTERM stops a run
with one line on stderr (exit status 130 or 143); the output directory then holds a summary.json
saying ``finished: false`` and no table, or only whole tables of the unfinished run.

Sweeps (``--multirun``, see :mod:`sim.batch.hydra_callback`): each run goes to
``<hydra.sweep.dir>/<override dirname>``; a failed run is recorded there and the others go on;
the same command run again skips the finished runs; at the end the sweep is gathered into
``results.parquet`` (:mod:`sim.batch.gather`). The exit status is 1 if any run failed or did not finish.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.compose import CONF_DIR, check_command_line, register_schema
from sim.config import to_config
from sim.core.errors import ConfigError, interrupted

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
    """The Hydra task: validate, run, write everything to the job's output directory.

    In a sweep (``--multirun``) each job goes through :func:`sim.batch.hydra_callback.hydra_job`: a finished run
    of the same configuration is skipped, and an error is recorded in the run's directory
    instead of stopping the sweep.
    """
    _quiet_mesa()
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        from sim.batch.hydra_callback import hydra_job  # noqa: PLC0415  (multirun only)

        return hydra_job(dcfg)
    try:
        cfg = to_config(dcfg)
    except ConfigError as exc:
        _fail(exc)
    outdir = Path(HydraConfig.get().runtime.output_dir)
    # the model (mesa, pandas, pyarrow) loads only once the command line has been checked
    from sim.run import run_simulation  # noqa: PLC0415  (heavy: mistakes are reported before it loads)

    progress = {"on": True, "off": False}.get(cfg.output.progress)  # "auto": let the run decide
    try:
        # writes summary.json (finished: false) before the run and the tables after it
        res = run_simulation(cfg, outdir=outdir, progress=progress)
    except ConfigError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        _interrupted(_what_is_left(outdir))
    except Exception as exc:
        if not interrupted(exc):  # a Ctrl-C inside a library can come out as another error
            raise
        _interrupted(_what_is_left(outdir))
    log.info("Wrote the results to %s", outdir)
    return res.summary


_SIGNAL_NAMES = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}
_received: list[int] = []


def _on_signal(signum, frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def _what_is_left(outdir: Path) -> str:
    from sim.io.files import read_summary  # noqa: PLC0415  (pyarrow and pandas, only after an interrupt)

    try:
        finished = read_summary(outdir).get("finished") is True
    except (OSError, ValueError):
        finished = False
    if finished:  # stopped while drawing the plots
        return f"; the tables in {outdir} are complete, some plots may be missing"
    return f"; {outdir} holds no finished run (its summary.json, if any, says finished: false)"


def _interrupted(detail: str = "") -> None:
    signum = _received[-1] if _received else signal.SIGINT
    what = "the sweep stopped" if "sweep" in detail else "the run stopped before it finished"
    print(f"error: {_SIGNAL_NAMES.get(signum, 'stopped')}: {what}{detail}.", file=sys.stderr)
    raise SystemExit(128 + int(signum))


def main() -> None:
    # SIGTERM (kill, a batch system's time limit) stops a run like Ctrl-C: one line, no traceback,
    # and no half-written table (files are written to a temporary name and renamed).
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        _main()
    except KeyboardInterrupt:
        sweep = sys.modules.get("sim.batch.hydra_callback")
        state = getattr(sweep, "CURRENT", None)
        if getattr(state, "sweep_dir", None) is not None:
            sweep.stop_sweep()  # its runs in progress are marked interrupted
            _interrupted(f"; the finished runs in {state.sweep_dir} are kept: run the same command again to resume")
        _interrupted()


def _main() -> None:
    _quiet_mesa()
    try:
        sys.argv[1:] = check_command_line(sys.argv[1:])  # a preset file becomes its absolute path
    except ConfigError as exc:
        _fail(exc)
    from sim.batch import hydra_callback as sweep  # noqa: PLC0415  (loaded for the command line only)

    argv = list(sys.argv)
    relaunches = 0
    while True:
        try:
            task()
            break
        except SystemExit as exc:
            state = sweep.CURRENT
            if state.sweep_dir is None or exc.code in (0, None):
                raise
            # The launcher stopped (e.g. a worker process was killed): the finished runs are on
            # disk. Launch the same sweep again into the same directory (finished runs are
            # skipped) as many times as hydra.callbacks.sweep.relaunch allows, if a run was cut off.
            sweep.report_sweep(stopped=True)
            if relaunches < state.relaunch and state.unfinished:
                relaunches += 1
                print(f"warning: the sweep stopped with {state.unfinished} unfinished run(s); "
                      f"launching it again into {state.sweep_dir} to finish them "
                      f"({relaunches} of {state.relaunch}).", file=sys.stderr)
                sys.argv = argv + [f"hydra.sweep.dir='{state.sweep_dir}'"]
                state.reported = False
                continue
            _sweep_stopped(sweep)
            raise
    if sweep.CURRENT.sweep_dir is not None:
        _sweep_end(sweep)


def _sweep_end(sweep) -> None:
    state = sweep.report_sweep()
    bad = state.problems
    if bad:
        print(
            f"error: {len(bad)} run(s) of the sweep did not complete (first: {bad[0][0]}: {bad[0][1]}); "
            f"see run_status.json and error.txt in their directories under {state.sweep_dir}. "
            "The other runs are complete; run the same command again to redo only the missing ones.",
            file=sys.stderr,
        )
        raise SystemExit(1)


def _sweep_stopped(sweep) -> None:
    state = sweep.report_sweep(stopped=True)
    done = state.counts.get("completed", 0)
    total = sum(state.counts.values())
    print(
        f"error: the sweep stopped early; {done} of the {total} runs started in {state.sweep_dir} are "
        "complete and kept. Run the same command again (same hydra.sweep.dir) to resume: finished "
        "runs are skipped.",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

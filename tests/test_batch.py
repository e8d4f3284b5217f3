"""The batch runner (sim.batch.runner.run_batch): one row per run, outcomes from the tables, resume,
failures and interruptions recorded, stale 'running' records settled, configurations checked first.

Runs are tiny (scale 0.005, one warm-up and one observed year, no plots).
"""

from __future__ import annotations

import functools
import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from processes import sigint_as_on_a_terminal

from sim import load_config
from sim.batch import RunSpec, run_batch
from sim.batch.gather import collect
from sim.batch.runner import WORKER_STOPPED_WARNING, quiet_worker_warnings, resolve_configs
from sim.batch.status import RUN_FILES, process_alive, read_status, run_state, write_status
from sim.config import ConfigError
from sim.run import run_simulation

ROOT = Path(__file__).resolve().parents[1]
TINY = ["scale=0.005", "years=1", "ecosystem.warmup_years=1", "output.plots=false", "output.firm_years=false"]


def births_and_jobs(tables, summary, rundir, *, factor=1.0):
    """An outcome function of the kind comparisons use: numbers from the run's tables."""
    ts = tables["timeseries"]
    (Path(rundir) / "extra.txt").write_text("written by the outcome function", encoding="utf-8")
    return {"births": factor * float(ts["births"].sum()), "jobs_end": float(ts["employees"].iloc[-1]),
            "label_text": f"seed {summary['seed']}"}


def _specs(seeds, **labels):
    return [RunSpec(f"seed={s}", [*TINY, f"seed={s}"], {"seed_label": s, **labels}) for s in seeds]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Three runs in two processes; the run of seed 2 cannot write its time series (a directory is in the way)."""
    root = tmp_path_factory.mktemp("batch")
    (root / "seed=2" / "timeseries.parquet").mkdir(parents=True)
    outcome = functools.partial(births_and_jobs, factor=2.0)
    first = run_batch(_specs([0, 1, 2], arm="baseline"), root, outcomes=outcome, jobs=2, progress=False)
    mtimes = {p.parent.name: p.stat().st_mtime_ns for p in root.glob("*/summary.json")}
    return {"root": root, "first": first, "mtimes": mtimes, "outcome": outcome}


def test_one_row_per_run_with_labels_totals_and_outcomes(batch):
    res = batch["first"]
    assert res["run_id"].tolist() == ["seed=0", "seed=1", "seed=2"]  # the order of the specifications
    assert res["status"].tolist() == ["completed", "completed", "failed"]
    assert res["seed"].tolist() == [0, 1, 2] and res["seed_label"].tolist() == [0, 1, 2]
    assert (res["arm"] == "baseline").all() and not res["reused"].any()
    assert "IsADirectoryError" in res.loc[2, "error"] and pd.isna(res.loc[2, "births"])
    for seed in (0, 1):  # the same numbers as a run made directly with that seed
        direct = run_simulation(load_config([*TINY, f"seed={seed}"]), progress=False)
        row = res.loc[seed]
        assert row["births"] == 2.0 * direct.tables["timeseries"]["births"].sum()
        assert row["jobs_end"] == direct.tables["timeseries"]["employees"].iloc[-1]
        assert row["label_text"] == f"seed {seed}"
        for key, value in direct.summary["totals"].items():
            assert row[key] == pytest.approx(value), key
    assert res.loc[0, "births"] != res.loc[1, "births"]  # different worlds


def test_each_run_leaves_a_record_a_sweep_gather_reads(batch):
    root = batch["root"]
    status = read_status(root / "seed=0")
    assert status["status"] == "completed" and status["labels"] == {"seed_label": 0, "arm": "baseline"}
    assert status["overrides"] == [*TINY, "seed=0"]
    documented = {k.strip() for c in RUN_FILES[0].columns for k in c.name.split(",")}
    assert set(status) <= documented and set(read_status(root / "seed=2")) <= documented
    assert (root / "seed=0" / ".hydra" / "config.yaml").is_file()
    assert (root / "seed=0" / "extra.txt").is_file()  # the outcome function may write into its run's directory
    stored = json.loads((root / "seed=0" / "outcomes.json").read_text())
    assert stored["values"]["births"] == batch["first"].loc[0, "births"]
    assert read_status(root / "seed=2")["status"] == "failed"
    assert "Traceback" in (root / "seed=2" / "error.txt").read_text()
    gathered, long = collect(root)
    assert sorted(gathered["status"]) == ["completed", "completed", "failed"]
    assert set(gathered["arm"]) == {"baseline"}  # labels become columns
    assert set(long["run_id"]) == {"seed=0", "seed=1"} and (long["unit"] != "").all()


def test_resume_reuses_finished_runs_and_redoes_the_failed_one(batch):
    root = batch["root"]
    (root / "seed=2" / "timeseries.parquet").rmdir()
    again = run_batch(_specs([0, 1, 2], arm="baseline"), root, outcomes=batch["outcome"], jobs=1, progress=False)
    assert again["status"].tolist() == ["completed"] * 3
    assert again["reused"].tolist() == [True, True, False]
    after = {p.parent.name: p.stat().st_mtime_ns for p in root.glob("*/summary.json")}
    assert all(after[k] == v for k, v in batch["mtimes"].items() if k != "seed=2")  # not run again
    pd.testing.assert_frame_equal(again.drop(columns=["reused", "wall_seconds", "status", "error"]).iloc[:2],
                                  batch["first"].drop(columns=["reused", "wall_seconds", "status", "error"]).iloc[:2],
                                  check_dtype=False)  # a failed row made the first ones float
    assert read_status(root / "seed=2")["attempt"] == 2
    # another outcome function: computed from the tables on disk, without running again
    other = run_batch(_specs([0]), root / "other", outcomes=births_and_jobs, progress=False)
    moved = run_batch(_specs([0], arm="baseline"), root, outcomes=births_and_jobs, progress=False)
    assert moved["reused"].all()
    assert moved.loc[0, "births"] == other.loc[0, "births"] == batch["first"].loc[0, "births"] / 2
    # a changed configuration is not reused
    changed = run_batch([RunSpec("seed=0", [*TINY, "seed=0", "ecosystem.firms.births_per_year=50000"])], root,
                        progress=False)
    assert not changed["reused"].any() and changed.loc[0, "firms_born"] < batch["first"].loc[0, "firms_born"]


def test_tables_can_be_kept_or_left_out(tmp_path):
    none = run_batch(_specs([0]), tmp_path / "none", tables=False, outcomes=births_and_jobs, progress=False)
    some = run_batch(_specs([0]), tmp_path / "some", tables=["timeseries"], progress=False)
    assert not list((tmp_path / "none" / "seed=0").glob("*.parquet"))
    assert sorted(p.name for p in (tmp_path / "some" / "seed=0").glob("*.parquet")) == ["timeseries.parquet"]
    assert json.loads((tmp_path / "none" / "seed=0" / "summary.json").read_text())["finished"] is True
    assert none.loc[0, "firms_born"] == some.loc[0, "firms_born"] and none.loc[0, "births"] > 0
    # asking for tables a finished run did not keep runs it again
    more = run_batch(_specs([0]), tmp_path / "none", tables=True, progress=False)
    assert not more["reused"].any() and (tmp_path / "none" / "seed=0" / "firms.parquet").is_file()


def test_configurations_are_checked_before_anything_runs(tmp_path):
    specs = _specs([0]) + [RunSpec("bad", [*TINY, "ecosystem.firms.birth_per_year=3"])]
    with pytest.raises(ConfigError, match="births_per_year"):
        run_batch(specs, tmp_path, progress=False)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError, match="seed=-1 is out of range"):
        resolve_configs(_specs([0]) + [RunSpec("neg", [*TINY, "seed=-1"])])
    with pytest.raises(ValueError, match="more than once"):
        run_batch(_specs([0, 0]), tmp_path, progress=False)
    with pytest.raises(ValueError, match="relative directory"):
        RunSpec("../x")
    cfgs = resolve_configs(_specs([3, 4]))  # one composition, the seed replaced
    assert [c.seed for c in cfgs] == [3, 4] and cfgs[0].scale == 0.005


def test_a_stale_running_record_is_interrupted_and_run_again(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run = tmp_path / "seed=0"
    write_status(run, status="running", pid=int(dead.stdout), started="2024-01-01T00:00:00+00:00", attempt=1)
    assert not process_alive(int(dead.stdout)) and process_alive(os.getpid())
    assert run_state(run)[0] == "interrupted"
    res = run_batch(_specs([0]), tmp_path, progress=False)
    assert res.loc[0, "status"] == "completed" and read_status(run)["attempt"] == 2


SLOW = ["scale=0.05", "years=10", "ecosystem.warmup_years=2", "output.plots=false", "output.firm_years=false"]
BATCH_SCRIPT = textwrap.dedent(f"""
    import sys
    from sim.batch import RunSpec, run_batch
    specs = [RunSpec(f"seed={{s}}", [*{SLOW!r}, f"seed={{s}}"]) for s in range(4)]
    try:
        run_batch(specs, sys.argv[1], jobs=2, progress=False)
    except KeyboardInterrupt:
        print("stopped", flush=True)
        sys.exit(130)
""")


@pytest.mark.slow
@pytest.mark.long  # a batch of 12-year runs at scale 0.05 stopped and resumed; the fast tier stops a sweep
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_stopping_a_batch_marks_its_runs_interrupted(tmp_path, how):
    """SIGTERM to the batch's process (a batch system's time limit), or Ctrl-C (SIGINT to the
    process group): no run is left 'running'; finished runs stay finished."""
    out = tmp_path / "batch"
    proc = subprocess.Popen([sys.executable, "-c", BATCH_SCRIPT, str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=sigint_as_on_a_terminal)
    deadline = time.time() + 300
    while time.time() < deadline:
        states = [(read_status(out / f"seed={s}") or {}).get("status") for s in range(4)]
        if states.count("running") >= 1:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("no run started")
    time.sleep(0.5)
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "stopped" in stdout, stderr[-3000:]
    time.sleep(0.5)
    states = {s: (read_status(out / f"seed={s}") or {}).get("status") for s in range(4)}
    assert "running" not in states.values(), states
    assert "interrupted" in states.values(), states
    resumed = run_batch([RunSpec(f"seed={s}", [*SLOW, f"seed={s}"]) for s in range(2)], out, jobs=1, progress=False)
    done_before = [s for s in range(2) if states[s] == "completed"]
    assert resumed["status"].tolist() == ["completed", "completed"]
    assert resumed["reused"].tolist() == [s in done_before for s in range(2)]


def test_only_the_worker_replacement_warning_is_hidden():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_worker_warnings():
            warnings.warn(WORKER_STOPPED_WARNING + ". This can be caused by a too short worker timeout.", UserWarning,
                          stacklevel=1)
            warnings.warn("something else", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something else"]



def test_runs_of_one_world_share_its_warm_up_and_give_the_same_tables(tmp_path):
    """share_warmup: the arms of a world (here the baseline and two policies at two seeds, seed by seed)
    branch from one warm-up per world, and every table is the one a run from scratch writes."""
    import sim.run as run_module  # noqa: PLC0415

    arms = {"base": [], "fund": ["policy=[guidance_fund]"], "incubator": ["policy=[state_incubator]"]}
    specs = [RunSpec(f"{arm}/seed={s}", [*TINY, "years=2", *extra, f"seed={s}"], {"arm": arm})
             for s in (3, 4) for arm, extra in arms.items()]
    built = run_module._SHARED["built"]
    shared = run_batch(specs, tmp_path / "shared", tables=True, progress=False, share_warmup=True)
    assert run_module._SHARED["built"] - built == 2  # one warm-up per seed, not one per run
    assert run_module._SHARED["warm"] is None  # released when the batch ends
    alone = run_batch(specs, tmp_path / "alone", tables=True, progress=False)
    assert run_module._SHARED["built"] - built == 2
    # in two worker processes: one world each
    pooled = run_batch(specs, tmp_path / "pooled", tables=True, progress=False, share_warmup=True, jobs=2)
    for res in (shared, alone, pooled):
        assert (res["status"] == "completed").all() and not res["reused"].any()
    for spec in specs:
        files = sorted(p.name for p in (tmp_path / "alone" / spec.run_id).glob("*.parquet"))
        assert "deals.parquet" in files
        for way in ("shared", "pooled"):
            assert files == sorted(p.name for p in (tmp_path / way / spec.run_id).glob("*.parquet"))
            for name in files:
                a = (tmp_path / "alone" / spec.run_id / name).read_bytes()
                assert a == (tmp_path / way / spec.run_id / name).read_bytes(), (way, spec.run_id, name)
    assert shared["firms_born"].tolist() == alone["firms_born"].tolist() == pooled["firms_born"].tolist()


def test_runs_in_one_process_leave_no_model_behind(tmp_path):
    """A batch run in this process frees each run's model when its unit ends. Mesa agents and their
    model refer to each other, so without a collection an earlier run's arrays stay in memory while
    the next run builds its own (China's five-seed validation gate peaked at 11 GB in one process,
    6 GB with the collection). With automatic collection off, no model is left after the batch."""
    from sim.model import EcosystemModel  # noqa: PLC0415

    def models() -> int:
        return sum(isinstance(o, EcosystemModel) for o in gc.get_objects())

    gc.collect()
    before = models()
    gc.disable()
    try:
        run_batch(_specs([0, 1]), tmp_path, outcomes=births_and_jobs, jobs=1, progress=False)
        left = models()
    finally:
        gc.enable()
    assert left == before

"""Sweeps end to end: joblib on the local cores, submitit's local executor, a local Ray; failure
isolation, killed workers, resume; gathering into one table; Morris screening.

Every sweep is a real ``python -m sim --multirun`` in a subprocess with tiny runs (scale 0.005,
one warm-up year, one or two observed years, no plots).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from processes import sigint_as_on_a_terminal

from experiments.sensitivity import main as sensitivity_cli
from sim import load_config
from sim.analysis.sensitivity import DEFAULT_BASE, DEFAULT_PARAMS, SENSITIVITY_FILES, event_note, run_sensitivity
from sim.batch.gather import SWEEP_FILES, collect, gather, main
from sim.batch.hydra_callback import sweep_counts
from sim.batch.status import now, read_status, write_status
from sim.batch.tabledoc import undocumented
from sim.config import ConfigError
from sim.run import run_simulation

TINY = ["scale=0.005", "ecosystem.warmup_years=1", "output.plots=false", "output.firm_years=false"]
# Hydra names each run directory by its overrides, sorted, with values as the sweeper writes them.
TINY_DIRNAME = "ecosystem.warmup_years=1,output.firm_years=False,output.plots=False,scale=0.005"


def run_dirname(**kv) -> str:
    items = TINY_DIRNAME.split(",") + [f"{k}={v}" for k, v in kv.items()]
    return ",".join(sorted(items))


def sim_multirun(args, cwd, timeout=900, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sim", "--multirun", *args, *TINY],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def mtimes(sweep: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in sweep.glob("*/summary.json")}


def require(module: str):
    """The launchers come with ``pip install -e '.[test]'``; in CI a missing one is a failure."""
    if os.environ.get("CI"):
        return __import__(module)
    return pytest.importorskip(module, reason=f"{module} is installed by pip install -e '.[test]'")


# ------------------------------------------------------------------------------ joblib sweep


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory):
    """4 runs (seed 0,1 x years 1,2) on the joblib launcher; one run's directory holds a
    directory where its timeseries.parquet must go, so writing it fails."""
    base = tmp_path_factory.mktemp("joblib")
    sweep = base / "sweep"
    blocked = sweep / run_dirname(seed=1, years=2)
    (blocked / "timeseries.parquet").mkdir(parents=True)
    args = ["seed=0,1", "years=1,2", f"hydra.sweep.dir={sweep}"]
    first = sim_multirun(args, base)
    return {"base": base, "sweep": sweep, "blocked": blocked, "args": args, "first": first,
            "mtimes": mtimes(sweep), "statuses": {p.name: read_status(p) for p in sweep.iterdir() if p.is_dir()}}


def test_joblib_sweep_runs_every_combination_on_all_cores(joblib_sweep):
    sweep, first = joblib_sweep["sweep"], joblib_sweep["first"]
    runs = sorted(p.name for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert runs == sorted(run_dirname(seed=s, years=y) for s in (0, 1) for y in (1, 2)), first.stderr[-2000:]
    hydra_cfg = (sweep / runs[0] / ".hydra" / "hydra.yaml").read_text()
    assert "hydra_joblib_launcher" in hydra_cfg and "n_jobs: -1" in hydra_cfg
    statuses = joblib_sweep["statuses"]
    done = [s for s in statuses.values() if s["status"] == "completed"]
    assert len(done) == 3
    if (os.cpu_count() or 1) > 1:  # the runs were spread over more than one worker process
        assert len({s["pid"] for s in statuses.values()}) >= 2
    for name, s in statuses.items():
        config = (sweep / name / ".hydra" / "config.yaml").read_text()  # the resolved configuration
        assert "scale: 0.005" in config and f"seed: {s['overrides'][0].split('=')[1]}" in config


def test_failed_run_is_recorded_and_the_others_survive(joblib_sweep):
    first, blocked = joblib_sweep["first"], joblib_sweep["blocked"]
    assert first.returncode == 1
    assert "1 run(s) of the sweep did not complete" in first.stderr
    status = joblib_sweep["statuses"][blocked.name]
    assert status["status"] == "failed" and status["error_type"] == "IsADirectoryError"
    assert "timeseries.parquet" in status["error"]
    assert "Traceback" in (blocked / "error.txt").read_text()
    summary = json.loads((blocked / "summary.json").read_text())
    assert summary["finished"] is False  # written before the tables, never set to true


def test_gather_one_table_per_sweep(joblib_sweep):
    sweep = joblib_sweep["sweep"]
    res = pd.read_parquet(sweep / "results.parquet")  # written at the end of the sweep
    assert len(res) == 4
    assert sorted(res["status"]) == ["completed", "completed", "completed", "failed"]
    assert {"run_id", "status", "error", "overrides", "seed", "years", "scale", "firms_born",
            "new_gazelles_observed", "vc_invested_observed", "wall_seconds"} <= set(res.columns)
    assert res["seed"].dtype.kind == "i" and res["years"].dtype.kind == "i" and res["scale"].dtype.kind == "f"
    ok = res[res["status"] == "completed"]
    assert (ok["firms_born"] > 0).all() and (ok["scale"] == 0.005).all()
    failed = res[res["status"] == "failed"].iloc[0]
    assert (failed["seed"], failed["years"]) == (1, 2)
    assert "IsADirectoryError" in failed["error"] and pd.isna(failed["firms_born"])
    long = pd.read_parquet(sweep / "timeseries_long.parquet")
    assert list(long.columns) == ["run_id", "step", "year", "month", "variable", "unit", "value"]
    units = long.drop_duplicates("variable").set_index("variable")["unit"]
    # the units documented for the timeseries columns (docs/outputs.md), read from the run's files
    assert (units["firms"], units["births"], units["vc_invested"]) == ("firms", "firms/month", "mcny/month")
    months = long.groupby("run_id")["step"].nunique()
    expected = {r.run_id: 12 * r.years for r in ok.itertuples()}
    assert months.to_dict() == expected  # every completed run, every observed month; none of the failed one
    # the long table and the run's own table agree
    rid = ok["run_id"].iloc[0]
    ts = pd.read_parquet(sweep / rid / "timeseries.parquet")
    firms = long[(long["run_id"] == rid) & (long["variable"] == "firms")].sort_values("step")["value"]
    assert firms.tolist() == ts["firms"].astype(float).tolist()
    # every column is documented (docs/outputs.md); the rest are the overridden keys and the totals
    docs = {f.name: f for f in SWEEP_FILES}
    assert undocumented(long.columns, docs["timeseries_long.parquet"]) == ([], [])
    extra, missing = undocumented(res.columns, docs["results.parquet"])
    totals = json.loads((sweep / rid / "summary.json").read_text())["totals"]
    overridden = {"years", "scale", "ecosystem.warmup_years", "output.firm_years", "output.plots"}
    assert missing == [] and set(extra) == overridden | set(totals)
    # the function gives the same table without writing
    again, _ = collect(sweep, timeseries=False)
    assert again.sort_values("run_id")["status"].tolist() == res.sort_values("run_id")["status"].tolist()


@pytest.mark.slow
def test_rerun_skips_finished_runs_and_redoes_the_failed_one(joblib_sweep):
    sweep, blocked = joblib_sweep["sweep"], joblib_sweep["blocked"]
    (blocked / "timeseries.parquet").rmdir()  # the problem is fixed
    second = sim_multirun(joblib_sweep["args"], joblib_sweep["base"])
    assert second.returncode == 0, second.stderr[-3000:]
    after = mtimes(sweep)
    for name, t in joblib_sweep["mtimes"].items():
        if name != blocked.name:
            assert after[name] == t, f"{name} was run again"
            assert read_status(sweep / name) == joblib_sweep["statuses"][name]
    status = read_status(blocked)
    assert status["status"] == "completed" and status["attempt"] == 2
    assert not (blocked / "error.txt").exists()
    assert "3 of the completed runs were already done and skipped" in second.stdout + second.stderr
    res = pd.read_parquet(sweep / "results.parquet")
    assert (res["status"] == "completed").all() and len(res) == 4


@pytest.mark.slow
@pytest.mark.long
def test_killed_worker_is_relaunched_and_the_sweep_finishes(tmp_path):
    """SIGKILL the worker process running one run: the joblib launcher gives up on the batch,
    python -m sim launches the sweep again into the same directory, and every run completes."""
    sweep = tmp_path / "sweep"
    victim = sweep / run_dirname(seed=0, years=3)
    killed = {}

    def killer():
        deadline = time.time() + 600
        while time.time() < deadline and not killed:
            st = read_status(victim)
            if st and st.get("status") == "running":
                os.kill(st["pid"], signal.SIGKILL)
                killed["pid"] = st["pid"]
                return
            time.sleep(0.02)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    proc = sim_multirun(["seed=0,1", "years=3", f"hydra.sweep.dir={sweep}"], tmp_path)
    t.join(timeout=5)
    assert killed, "the run never started"
    assert "launching it again" in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = read_status(victim)
    assert status["status"] == "completed" and status["attempt"] == 2 and status["pid"] != killed["pid"]
    res = pd.read_parquet(sweep / "results.parquet")
    assert len(res) == 2 and (res["status"] == "completed").all()


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_stopped_sweep_marks_its_runs_interrupted(tmp_path, how):
    """SIGTERM to python -m sim (a batch system's time limit) or Ctrl-C (SIGINT to the process
    group): the runs in progress say interrupted, none is left saying running."""
    sweep = tmp_path / "sweep"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "--multirun", "seed=0,1", "scale=0.2", "years=10", "ecosystem.warmup_years=1",
         "output.plots=false", "output.firm_years=false", f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=sigint_as_on_a_terminal)
    deadline = time.time() + 300
    while time.time() < deadline and not any((read_status(d) or {}).get("status") == "running"
                                             for d in sweep.glob("*")):
        time.sleep(0.05)
    time.sleep(0.5)
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == {"SIGTERM": 143, "SIGINT": 130}[how], stderr[-3000:]
    assert "run the same command again to resume" in stderr
    # a run whose directory Hydra made just before the signal has no status yet: it never started
    states = [(read_status(d) or {}).get("status", "not started")
              for d in sweep.iterdir() if d.is_dir() and not d.name.startswith(".")]
    assert "running" not in states and "interrupted" in states, states


def test_killed_run_is_reported_interrupted_and_never_started_incomplete(tmp_path):
    """A run cut off without a status update (as after SIGKILL) is interrupted, not done and not
    still running; a run with no record of starting is incomplete; a live process is running."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has exited
    sweep = tmp_path / "sweep"
    run = sweep / "seed=0"
    write_status(run, status="running", pid=dead_pid, started="2020-01-01T00:00:00+00:00", overrides=["seed=0"])
    (run / "summary.json").write_text(json.dumps({"finished": False, "totals": {"firms_born": 3}}))
    never = sweep / "seed=1"
    (never / ".hydra").mkdir(parents=True)
    (never / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    alive = sweep / "seed=2"
    write_status(alive, status="running", pid=os.getpid(), started=now(), overrides=["seed=2"])
    paths = gather(sweep)
    res = pd.read_parquet(paths["results"]).set_index("run_id")
    assert res.loc["seed=0", "status"] == "interrupted" and pd.isna(res.loc["seed=0", "firms_born"])
    assert f"pid {dead_pid}" in res.loc["seed=0", "error"]
    assert res.loc["seed=1", "status"] == "incomplete"
    assert res.loc["seed=2", "status"] == "running"
    assert len(pd.read_parquet(paths["timeseries"])) == 0
    assert read_status(run)["status"] == "running"  # gathering only reads
    counts, problems = sweep_counts(sweep)  # the sweep's report writes down what it found
    assert counts == {"interrupted": 1, "incomplete": 1, "running": 1}
    assert read_status(run)["status"] == "interrupted" and read_status(alive)["status"] == "running"


def test_gather_command(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2  # no runs below it: one line, no traceback
    assert "holds no run directories" in capsys.readouterr().err
    write_status(tmp_path / "a", status="failed", error="ValueError: bad", overrides=["seed=4"])
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert "1 runs (1 failed)" in capsys.readouterr().out
    res = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert res["error"].tolist() == ["ValueError: bad"] and res["run_id"].tolist() == ["a"]


# ------------------------------------------------------------------------------ other launchers


@pytest.mark.slow
@pytest.mark.long
def test_submitit_local_sweep(tmp_path):
    require("hydra_plugins.hydra_submitit_launcher")
    sweep = tmp_path / "sweep"
    proc = sim_multirun(["hydra/launcher=submitit_local", "seed=0,1", "years=1", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (sweep / ".submitit").is_dir()  # the jobs went through submitit
    res = pd.read_parquet(sweep / "results.parquet")
    assert sorted(res["seed"]) == [0, 1] and (res["status"] == "completed").all()
    assert (res["firms_born"] > 0).all()
    pids = {read_status(sweep / r)["pid"] for r in res["run_id"]}
    assert len(pids) == 2  # one process per job


@pytest.mark.slow
@pytest.mark.long
def test_ray_sweep_on_a_local_ray(tmp_path):
    require("ray")
    require("hydra_plugins.hydra_ray_launcher")
    sweep = tmp_path / "sweep"
    proc = sim_multirun(
        ["hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2",
         "+hydra.launcher.ray.init.include_dashboard=false", "seed=0,1", "years=1", f"hydra.sweep.dir={sweep}"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ray" in proc.stdout + proc.stderr
    res = pd.read_parquet(sweep / "results.parquet")
    assert sorted(res["seed"]) == [0, 1] and (res["status"] == "completed").all()
    # the same configuration gives the same totals whatever the launcher
    direct = run_simulation(load_config(["seed=1", "years=1", *TINY]), progress=False).summary["totals"]
    row = res[res["seed"] == 1].iloc[0]
    assert all(row[k] == pytest.approx(v) for k, v in direct.items())


def test_slurm_launcher_config_composes():
    require("hydra_plugins.hydra_submitit_launcher")
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "hydra/launcher=slurm", "hydra.launcher.partition=cpu", "--cfg", "hydra",
         "-p", "hydra.launcher"], capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SlurmLauncher" in proc.stdout and "partition: cpu" in proc.stdout and "cpus_per_task: 1" in proc.stdout


# ------------------------------------------------------------------------------ sensitivity


@pytest.mark.slow
def test_morris_ranks_a_real_driver_above_a_neutral_key(tmp_path):
    res = run_sensitivity(
        {"ecosystem.firms.births_per_year": (50_000.0, 150_000.0), "stages.fx_cny_per_usd": (6.0, 8.0)},
        ["firms_born", "ts:firms:last", "ipos_observed"],
        n=2, base=["years=1", *TINY], out=tmp_path / "sens", n_jobs=2, progress=False,
    )
    r = res.ranking
    assert len(r) == 6 and set(r["method"]) == {"morris"}
    assert len(res.results) == 2 * 3  # trajectories * (parameters + 1)
    for outcome in ("firms_born", "ts:firms:last"):
        d = r[r["outcome"] == outcome].set_index("parameter")
        assert d.loc["ecosystem.firms.births_per_year", "rank"] == 1
        assert d.loc["ecosystem.firms.births_per_year", "mu_star"] > 0
        # the exchange rate only moves the unicorn threshold: with the same seeds, no firm is born differently
        assert d.loc["stages.fx_cny_per_usd", "mu_star"] < 0.05 * d.loc["ecosystem.firms.births_per_year", "mu_star"]
        assert (d["note"] == "").all()
    # a teaching-size park lists almost no firm in one year: the analysis says so instead of ranking noise
    ipos = r[r["outcome"] == "ipos_observed"]
    assert (ipos["events_per_run"] < 10).all() and ipos["note"].str.contains("raise scale or years|does not vary").all()
    assert any(w.startswith("ipos_observed:") for w in res.warnings) and len(res.warnings) == 1
    assert res.paths["plot"].is_file() and res.paths["plot"].stat().st_size > 1000
    assert pd.read_csv(res.paths["csv"]).shape == r.shape
    doc = next(f for f in SENSITIVITY_FILES if f.name.startswith("ranking"))
    assert undocumented(r.columns, doc) == ([], ["S1", "S1_conf", "ST", "ST_conf"])  # Morris: no Sobol indices
    runs = pd.read_parquet(res.paths["runs"])
    assert len(runs) == 6 and (runs["status"] == "completed").all() and {"point", "rep"} <= set(runs.columns)
    # run again: every run is reused and the ranking is the same
    again = run_sensitivity(
        {"ecosystem.firms.births_per_year": (50_000.0, 150_000.0), "stages.fx_cny_per_usd": (6.0, 8.0)},
        ["firms_born", "ts:firms:last", "ipos_observed"],
        n=2, base=["years=1", *TINY], out=tmp_path / "sens", n_jobs=1, progress=False,
    )
    assert again.results["reused"].all()
    pd.testing.assert_frame_equal(again.ranking, r)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"ecosystem.exits.ipo_rate": (0.1, 15.0), "ecosystem.firms.growth_quality": (0.3, 0.7)},
         "--param ecosystem.exits.ipo_rate=0.1:15: its upper end 15 is outside what the key allows (<= 12)"),
        ({"ecosystem.funding.dilution_min": (0.1, 0.4), "ecosystem.firms.growth_quality": (0.3, 0.7)},
         "--param ecosystem.funding.dilution_min=0.1:0.4: at its upper end the configuration is not allowed: "
         "ecosystem.funding.dilution_min=0.4 is larger than ecosystem.funding.dilution_max=0.25"),
        ({"ecosystem.firms.growth_quality": (0.3, 0.7), "ecosystem.firms.births_per_year": (-5.0, 10.0)},
         "--param ecosystem.firms.births_per_year=-5:10: its lower end -5 is outside what the key allows (>= 0)"),
    ],
)
def test_sensitivity_reports_a_bad_range_as_given(tmp_path, params, message):
    with pytest.raises(ConfigError) as err:
        run_sensitivity(params, ["firms_born"], n=2, base=["years=1", *TINY], out=tmp_path)
    assert str(err.value).startswith(message), str(err.value)
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_event_note_flags_sparse_and_constant_outcomes():
    per_run, note = event_note(np.array([0.0, 2.0, 1.0, 0.0]), np.array([1.0, 0.5]))
    assert per_run == 0.75 and "too few" in note and "(0 to 2)" in note
    assert event_note(np.array([40.0, 52.0, 47.0]), np.array([40.0, 49.5])) == (pytest.approx(46.333, rel=1e-3), "")
    assert "does not vary" in event_note(np.array([3.0, 3.0]), np.array([3.0, 3.0]))[1]
    assert event_note(np.array([0.2, 0.7]), np.array([0.2, 0.7])) == (pytest.approx(float("nan"), nan_ok=True), "")


def test_sensitivity_help_lists_the_defaults_and_the_override_form(capsys):
    with pytest.raises(SystemExit) as exit_:
        sensitivity_cli(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for key, (lo, hi) in DEFAULT_PARAMS.items():
        assert f"{key}={lo:g}:{hi:g}" in text
    assert "new_gazelles_observed" in text and " ".join(DEFAULT_BASE) in " ".join(text.split())
    assert "-- scale=" in text and "after \"--\"" in text

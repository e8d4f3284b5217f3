"""Faults and extreme inputs: killed and interrupted runs, empty and extreme configurations,
runs too large for the machine, and files that try to run code when loaded.

What must hold:

* a run killed at any point (SIGKILL while simulating, or in the middle of writing a table or
  the summary) leaves a directory whose summary.json is absent or says ``finished: false``, that
  :func:`sim.io.files.read_results` refuses, and that holds no partial file under a table's name;
* Ctrl-C or SIGTERM stops ``python -m sim`` with one line on stderr, no traceback, and no
  half-written table;
* empty actor sets, no births, zero- and one-month horizons and a fifty-year horizon run to
  the end with sensible tables; a run too large for the memory is refused before it starts,
  with one line naming ``scale``, the estimate and the limit;
* loading configurations and outputs never executes code: the package uses no pickle, eval,
  exec or unsafe YAML, and files crafted to run code when unpickled or YAML-loaded do not.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from omegaconf import OmegaConf
from processes import sigint_as_on_a_terminal

import sim.io.files as files
import sim.tracks.registry as tracks
from sim.config import Config, ConfigError
from sim.io.files import IncompleteResultsError, read_results, read_summary
from sim.io.schema import TABLE_SCHEMAS, to_arrow
from sim.limits import check_memory, estimate_memory_bytes, expected_firms, machine_memory_bytes
from sim.model import EcosystemModel
from sim.policies.base import Policy
from sim.run import build_model, build_tables, run_simulation

ROOT = Path(__file__).resolve().parents[1]


def small(seed: int = 3, years: int = 2, warmup: int = 1, scale: float = 0.01) -> Config:
    cfg = Config()
    cfg.seed, cfg.years, cfg.scale = seed, years, scale
    cfg.ecosystem.warmup_years = warmup
    cfg.output.plots = False
    return cfg


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), e.get("PYTHONPATH")]))
    return e


def assert_not_complete(outdir: Path) -> None:
    """What a reader finds in the directory of a run that did not finish."""
    if (outdir / "summary.json").exists():
        assert read_summary(outdir)["finished"] is False
    with pytest.raises((IncompleteResultsError, FileNotFoundError)):
        read_results(outdir)
    for name in TABLE_SCHEMAS:  # any file under a table's name is a whole Parquet file
        path = outdir / f"{name}.parquet"
        if path.exists():
            pq.read_table(path)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished teaching-size run on disk."""
    out = tmp_path_factory.mktemp("finished") / "run"
    run_simulation(small(seed=1, years=1, warmup=0, scale=0.004), outdir=out, progress=False)
    assert read_summary(out)["finished"] is True
    return out


def earlier_run_in(outdir: Path, finished_run: Path) -> Path:
    """``outdir`` holding an earlier finished run: its tables must not survive a new run there."""
    shutil.copytree(finished_run, outdir)
    return outdir


# ------------------------------------------------------------------------------ killed runs
# The processes of a group start together and are stopped one by one (saves their start-up time).


def start_cli(outdir: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "sim", "scale=0.1", "years=30", "output.plots=false", f"hydra.run.dir={outdir}"]
    return subprocess.Popen(
        cmd, cwd=outdir.parent, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=sigint_as_on_a_terminal,
    )


def wait_for_start(proc: subprocess.Popen, outdir: Path, timeout: float = 240) -> None:
    """Until the run has marked its directory (after the model is built) and simulates."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be stopped: {proc.stderr.read()[-2000:]}")
        try:
            if read_summary(outdir).get("finished") is False:
                time.sleep(0.5)  # well inside the simulation, which takes tens of seconds
                return
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run did not start in time")


CLI_SIGNALS = {"sigkill": signal.SIGKILL, "ctrl-c": signal.SIGINT, "sigterm": signal.SIGTERM}


@pytest.fixture(scope="module")
def stopped_cli_runs(tmp_path_factory, finished_run):
    """``python -m sim`` runs stopped by each signal while simulating: name -> (dir, status, stderr)."""
    base = tmp_path_factory.mktemp("stopped")
    runs = {}
    try:
        for name in CLI_SIGNALS:
            out = earlier_run_in(base / name, finished_run)
            runs[name] = (out, start_cli(out))
        results = {}
        for name, (out, proc) in runs.items():
            wait_for_start(proc, out)
            proc.send_signal(CLI_SIGNALS[name])
            _, err = proc.communicate(timeout=120)
            results[name] = (out, proc.returncode, err)
        return results
    finally:
        for _, proc in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.slow  # three python -m sim processes at scale 0.1 (about 15 s of CPU); see README, "Tests"
def test_sigkill_during_the_simulation_leaves_no_complete_looking_run(stopped_cli_runs):
    out, status, _ = stopped_cli_runs["sigkill"]
    assert status == -signal.SIGKILL
    assert_not_complete(out)
    assert read_summary(out)["scale"] == pytest.approx(0.1)  # the marker of the killed run
    assert not list(out.glob("*.parquet")), "tables of the earlier run survived"


@pytest.mark.slow  # shares the stopped runs above
@pytest.mark.parametrize(
    "name, status, word",
    [("ctrl-c", 130, "interrupted (Ctrl-C)"), ("sigterm", 143, "terminated (SIGTERM)")],
)
def test_ctrl_c_and_sigterm_stop_the_run_with_one_line(stopped_cli_runs, name, status, word):
    out, code, err = stopped_cli_runs[name]
    assert code == status, err[-3000:]
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {word}: the run stopped before it finished") and str(out) in lines[0]
    assert_not_complete(out)
    assert not list(out.glob("*.parquet")) and not list(out.glob(".*.tmp"))


# A child process that writes a finished run's tables into a directory and kills itself with
# SIGKILL at a chosen point: after some tables, in the middle of a table's bytes, or in the
# middle of the final summary. It imports only sim.io.files, so it starts quickly.
KILLER = r"""
import os, signal, sys
import sim.io.files as files

source, outdir, point, arg = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tables, summary = files.read_results(source)
files.start_results(outdir, {"seed": summary["seed"]})
count = {"tables": 0, "summaries": 0}
real_write_arrow, real_atomic = files._write_arrow, files.atomic_write

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def write_arrow(out, name, table):
    if point == "after_tables" and count["tables"] == arg:
        die()
    count["tables"] += 1
    return real_write_arrow(out, name, table)

class Half:
    def __init__(self, fh):
        self.fh = fh
    def write(self, data):
        data = bytes(data)
        self.fh.write(data[: max(1, len(data) // 2)])
        self.fh.flush()
        die()
    def __getattr__(self, k):
        return getattr(self.fh, k)

def atomic(target, write):
    name = os.path.basename(str(target))
    half = lambda fh: write(Half(fh))
    if point == "mid_table" and name.endswith(".parquet") and count["tables"] == arg + 1:
        return real_atomic(target, half)
    if point == "mid_summary" and name == "summary.json":
        count["summaries"] += 1
        if count["summaries"] == 2:  # the second write, saying finished: true
            return real_atomic(target, half)
    return real_atomic(target, write)

files._write_arrow, files.atomic_write = write_arrow, atomic
files.write_results(outdir, tables, summary)
print("not killed")
"""
KILL_POINTS = [("after_tables", 2), ("mid_table", 1), ("mid_summary", 0)]


@pytest.fixture(scope="module")
def killed_writes(tmp_path_factory, finished_run):
    base = tmp_path_factory.mktemp("killed")
    procs = {}
    for point, arg in KILL_POINTS:
        out = earlier_run_in(base / f"{point}-{arg}", finished_run)
        procs[point, arg] = (out, subprocess.Popen(
            [sys.executable, "-c", KILLER, str(finished_run), str(out), point, str(arg)],
            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    results = {}
    for key, (out, proc) in procs.items():
        o, e = proc.communicate(timeout=300)
        results[key] = (out, proc.returncode, o + e)
    return results


@pytest.mark.parametrize("point, arg", KILL_POINTS)
def test_sigkill_while_writing_leaves_no_complete_looking_table(killed_writes, finished_run, point, arg):
    out, status, output = killed_writes[point, arg]
    assert status == -signal.SIGKILL, output[-3000:]
    assert_not_complete(out)
    written = sorted(p.name for p in out.glob("*.parquet"))
    if point == "after_tables":
        assert len(written) == arg
    if point == "mid_table":
        assert len(written) == arg
        assert list(out.glob(".*.parquet.*.tmp")), "the half-written table is under a temporary name"
    if point == "mid_summary":
        # every table whole, but the run is not marked finished
        assert written == sorted(p.name for p in finished_run.glob("*.parquet"))
        assert list(out.glob(".summary.json.*.tmp"))
    # the next run in the directory starts clean
    files.start_results(out)
    assert not list(out.glob(".*.tmp")) and not list(out.glob("*.parquet"))


def test_exception_during_the_run_leaves_the_directory_marked_unfinished(tmp_path, finished_run):
    class Crash(Policy):
        kind = "test_crash"

        def step(self, model, government):
            if model.current_step == 5:
                raise RuntimeError("simulated crash")

    out = earlier_run_in(tmp_path / "run", finished_run)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_simulation(small(), outdir=out, progress=False, policies=[Crash(name="crash")])
    assert_not_complete(out)
    assert not list(out.glob("*.parquet"))


def test_keyboard_interrupt_while_writing_leaves_no_partial_file(tmp_path, monkeypatch, finished_run):
    out = earlier_run_in(tmp_path / "run", finished_run)
    real = files._write_arrow
    calls = []

    def write_arrow(outdir, name, table):
        calls.append(name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(outdir, name, table)

    monkeypatch.setattr(files, "_write_arrow", write_arrow)
    with pytest.raises(KeyboardInterrupt):
        run_simulation(small(), outdir=out, progress=False)
    assert_not_complete(out)
    assert len(list(out.glob("*.parquet"))) == 2 and not list(out.glob(".*.tmp"))


# ------------------------------------------------------------------------------ empty and extreme inputs


def sensible(res) -> None:
    """A finished run whose tables follow the contract and whose firm records add up."""
    assert res.summary["finished"] is True
    for name, df in res.tables.items():
        to_arrow(name, df)
    ts = res.tables["timeseries"]
    assert len(ts) == res.config.years * 12
    firms = res.tables["firms"]
    assert int(firms["end_kind"].isna().sum()) == res.model.population.n
    held, flowed = res.model.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)
    for agent in res.model.market.investors:
        assert agent.balanced(), agent.name


def round_trip(res, tmp_path) -> None:
    out = res.write(tmp_path / "out")
    tables, summary = read_results(out)
    assert summary["finished"] is True
    for name, df in res.tables.items():
        if name in tables:
            assert len(tables[name]) == len(df), name


def test_no_investors_at_all(tmp_path):
    cfg = small()
    e = cfg.ecosystem
    e.angels.count = e.vc.initial_funds = e.guidance.count = e.banks.count = 0
    e.incumbents.count = 0  # their corporate venture funds are investors too
    e.vc.commitments_mcny_per_year = 0.0
    res = run_simulation(cfg, progress=False)
    sensible(res)
    assert len(res.tables["investors"]) == 0 and len(res.tables["deals"]) == 0
    assert len(res.tables["positions"]) == 0 and res.tables["firms"]["total_raised"].sum() == 0
    ts = res.tables["timeseries"]
    assert (ts[["angel_invested", "vc_invested", "guidance_invested", "cvc_invested", "bank_lending"]] == 0).all().all()
    assert len(res.tables["firms"]) > 0
    round_trip(res, tmp_path)


def test_no_institutes():
    cfg = small()
    cfg.ecosystem.institutes.count = 0
    res = run_simulation(cfg, progress=False)
    sensible(res)
    ts = res.tables["timeseries"]
    assert ts["breakthroughs"].sum() == 0 and ts["births_spinoff"].sum() == 0


def test_no_births(tmp_path):
    cfg = small()
    cfg.ecosystem.firms.births_per_year = 0.0
    res = run_simulation(cfg, progress=False)
    sensible(res)
    assert len(res.tables["firms"]) == 0 and len(res.tables["deals"]) == 0
    assert (res.tables["timeseries"]["firms"] == 0).all()
    assert res.summary["totals"]["firms_born"] == 0
    round_trip(res, tmp_path)


def test_zero_month_horizon(tmp_path):
    cfg = small(years=0, warmup=0)
    res = run_simulation(cfg, progress=False)
    sensible(res)
    assert len(res.tables["timeseries"]) == 0 and len(res.tables["firms"]) == 0
    round_trip(res, tmp_path)


def test_warm_up_only():
    res = run_simulation(small(years=0, warmup=1), progress=False)
    sensible(res)
    assert len(res.tables["timeseries"]) == 0 and len(res.tables["firms"]) > 0
    assert (res.tables["firms"]["born_step"] < 0).all()


def test_one_month_horizon():
    """The horizon is set in whole years; one month is the model stepped once."""
    model = EcosystemModel(small(years=0, warmup=0))
    model.step()
    model.finish()
    tables = build_tables(model)
    for name, df in tables.items():
        to_arrow(name, df)
    ts = tables["timeseries"]
    assert len(ts) == 1 and ts["step"].tolist() == [0] and ts["month"].tolist() == [1]
    assert (
        ts["firms"].iloc[0]
        == len(tables["firms"]) - ts["deaths"].iloc[0] - ts["exits_ipo"].iloc[0] - ts["exits_acquired"].iloc[0]
    )
    assert ts["births"].iloc[0] == len(tables["firms"]) > 0
    held, flowed = model.cash_identity()
    assert held == pytest.approx(flowed, rel=1e-9, abs=1e-6)


def test_fifty_year_horizon_at_tiny_scale():
    res = run_simulation(small(years=50, warmup=0, scale=0.002), progress=False)
    sensible(res)
    ts = res.tables["timeseries"]
    assert ts["year"].min() == 2015 and ts["year"].max() == 2064
    firms = res.tables["firms"]
    age_cap = res.config.ecosystem.firms.graduation_age_years * 12
    alive = firms["end_kind"].isna()
    assert (res.model.current_step - firms.loc[alive, "born_step"] <= age_cap).all(), (
        "firms older than the graduation age"
    )
    assert (firms["end_kind"] == "aged_out").any()
    assert ts["firms"].iloc[-12:].min() > 0  # the population renews itself


# ------------------------------------------------------------------------------ too large for the machine


def huge() -> Config:
    cfg = Config()
    cfg.scale, cfg.years = 10.0, 200
    cfg.ecosystem.warmup_years = 30
    return cfg


def test_a_run_too_large_for_the_machine_is_refused_before_it_starts():
    limit = machine_memory_bytes()
    assert limit is not None and limit > 2**28
    cfg = huge()
    assert estimate_memory_bytes(cfg) > limit
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        run_simulation(cfg, progress=False)
    assert time.perf_counter() - t0 < 5, "refused only after allocating"
    msg = str(info.value)
    assert msg.startswith("scale=10 ") and "this machine's memory" in msg and "\n" not in msg
    assert f"{estimate_memory_bytes(cfg) / 2**30:.1f} GB" in msg and f"{limit / 2**30:.1f} GB" in msg


def test_memory_limit_gb_sets_the_limit():
    cfg = small()
    cfg.memory_limit_gb = 0.01
    with pytest.raises(ConfigError, match=r"more than memory_limit_gb \(0\.0 GB\)"):
        build_model(cfg)  # the run entry point refuses before building the model
    cfg.memory_limit_gb = 1000.0
    assert check_memory(cfg) == estimate_memory_bytes(cfg)


def test_the_memory_estimate_follows_the_run():
    cfg = small(years=3, warmup=2, scale=0.02)
    res = run_simulation(cfg, progress=False)
    born, live, rows = expected_firms(cfg)
    assert len(res.tables["firms"]) == pytest.approx(born, rel=0.1)  # Poisson births: sd ~ 1 %
    assert live >= res.model.population.n  # closure alone: an upper end
    assert rows >= len(res.tables["firm_years"])
    bigger = small(years=3, warmup=2, scale=0.04)
    assert estimate_memory_bytes(bigger) > estimate_memory_bytes(cfg)
    bigger.output.firm_years = False
    assert expected_firms(bigger)[2] == 0


@pytest.mark.skipif(sys.platform != "linux", reason="/proc/meminfo is Linux's")
def test_machine_memory_is_at_most_the_physical_memory():
    meminfo = Path("/proc/meminfo")
    total_kb = int(next(line for line in meminfo.read_text().splitlines() if line.startswith("MemTotal")).split()[1])
    assert machine_memory_bytes() <= total_kb * 1024 * 1.01


def test_cli_refuses_a_run_too_large_with_one_line(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "scale=10", "years=200", "ecosystem.warmup_years=30", f"hydra.run.dir={out}"],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("error: scale=10 ") and "GB" in lines[0]
    assert not out.exists(), "a refused run must not create its directory"


# ------------------------------------------------------------------------------ loading never runs code

# Package code must not load data in ways that can execute it.
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve"}
FORBIDDEN_NAMES = {
    ("joblib", "load"),
    ("numpy", "load"),
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
    ("yaml", "full_load"),
}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_ATTRS = {
    ("yaml", "load"), ("yaml", "load_all"), ("yaml", "unsafe_load"), ("yaml", "unsafe_load_all"),
    ("yaml", "full_load"), ("yaml", "full_load_all"), ("pd", "read_pickle"), ("pandas", "read_pickle"),
    ("torch", "load"), ("joblib", "load"),
}


def package_files():
    for folder in ("sim", "agents", "experiments"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_package_source_uses_no_pickle_eval_exec_or_unsafe_yaml():
    problems = []
    for path in package_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = lambda node, path=path: f"{path.relative_to(ROOT)}:{node.lineno}"  # noqa: E731
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                problems += [
                    f"{where(node)} import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES
                ]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                problems.append(f"{where(node)} from {node.module} import ...")
            elif isinstance(node, ast.ImportFrom):
                problems += [f"{where(node)} from {node.module} import {a.name}" for a in node.names
                             if ((node.module or "").split(".")[0], a.name) in FORBIDDEN_NAMES]
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in FORBIDDEN_CALLS:
                    problems.append(f"{where(node)} {f.id}(...)")
                if isinstance(f, ast.Attribute):
                    base = f.value.id if isinstance(f.value, ast.Name) else None
                    if (base, f.attr) in FORBIDDEN_ATTRS or f.attr in ("to_pickle", "read_pickle"):
                        problems.append(f"{where(node)} {base}.{f.attr}(...)")
                    for kw in node.keywords:
                        if kw.arg == "allow_pickle" and not (
                            isinstance(kw.value, ast.Constant) and kw.value.value is False
                        ):
                            problems.append(f"{where(node)} allow_pickle")
                        if kw.arg == "Loader" and not (
                            isinstance(kw.value, ast.Attribute) and kw.value.attr in ("SafeLoader", "CSafeLoader")
                        ):
                            problems.append(f"{where(node)} yaml Loader={ast.unparse(kw.value)}")
    assert not problems, "code that can execute what it loads:\n" + "\n".join(problems)


def test_the_scan_finds_what_it_looks_for(tmp_path, monkeypatch):
    """The scan above is not vacuous: it flags each forbidden pattern."""
    bad = tmp_path / "sim"
    bad.mkdir()
    (bad / "bad.py").write_text(
        "import pickle\nfrom marshal import loads\nimport yaml\nx = yaml.load(s)\ny = eval('1')\n"
        "import numpy as np\nz = np.load(f, allow_pickle=True)\nw = yaml.load_all(s, Loader=yaml.Loader)\n"
        "from joblib import load\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError) as info:
        test_package_source_uses_no_pickle_eval_exec_or_unsafe_yaml()
    text = str(info.value)
    for needle in ("import pickle", "from marshal", "yaml.load(", "eval(", "allow_pickle", "yaml.load_all(",
                   "Loader=yaml.Loader", "from joblib import load"):
        assert needle in text, needle


class _Marker:
    """Unpickling this creates a file: the proof that a loader executed code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_a_parquet_file_with_a_pickled_extension_type_does_not_run_code(tmp_path, finished_run):
    out = earlier_run_in(tmp_path / "run", finished_run)
    marker = tmp_path / "pwned"
    table = pq.read_table(out / "firms.parquet")
    quality = table.column("quality").to_numpy()
    field = table.schema.field("quality").with_metadata({
        b"ARROW:extension:name": b"arrow.py_extension_type",
        b"ARROW:extension:metadata": pickle.dumps(_Marker(marker)),
    })
    table = table.cast(table.schema.set(table.schema.get_field_index("quality"), field))
    pq.write_table(table, out / "firms.parquet")
    # the extension type's pickled metadata is ignored: the column reads as its plain storage
    tables, _ = read_results(out)
    assert not marker.exists()
    assert tables["firms"]["quality"].dtype == "float64"
    assert (tables["firms"]["quality"].to_numpy() == quality).all()


def test_yaml_with_python_tags_does_not_run_code(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    payload = f'!!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ["{marker}"]]\n'
    evil = tmp_path / "evil.yaml"
    evil.write_text(f"seed: {payload}", encoding="utf-8")
    with pytest.raises(yaml.constructor.ConstructorError, match="could not determine a constructor for the tag"):
        OmegaConf.load(evil)  # how Hydra reads conf/ files
    (tmp_path / "tracks").mkdir()
    (tmp_path / "tracks" / "evil.yaml").write_text(f"tracks: {payload}", encoding="utf-8")
    monkeypatch.setattr(tracks, "CONF_DIR", tmp_path)
    with pytest.raises(yaml.constructor.ConstructorError, match="could not determine a constructor for the tag"):
        tracks.load_track_system("evil")
    assert not marker.exists()


def test_summary_json_is_data_only(tmp_path):
    """summary.json is read with json: a value that looks like an interpolation stays text."""
    out = tmp_path / "run"
    files.write_summary(
        out, {"finished": True, "ecosystem": "${oc.env:HOME}", "note": "!!python/object/apply:os.system"}
    )
    s = read_summary(out)
    assert s["ecosystem"] == "${oc.env:HOME}" and s["note"].startswith("!!python")


def test_cli_refuses_experimental_rerun_of_a_pickle(tmp_path):
    marker = tmp_path / "pwned"
    pickled = tmp_path / "config.pickle"

    pickled.write_bytes(pickle.dumps(_Marker(marker)))
    proc = subprocess.run([sys.executable, "-m", "sim", "--experimental-rerun", str(pickled)],
                          cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "pickle" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not marker.exists()

"""Progress and resume of the tools (issue 18): a batch that resumes says so, Ctrl-C is an
interruption wherever it lands (even inside a library that turns it into another error), the
command lines say how many finished runs they keep, and a comparison stopped with Ctrl-C on a
terminal resumes when the same command is run again (slow: driven through a pseudo-terminal).
"""

from __future__ import annotations

import importlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import sigint_as_on_a_terminal

import sim.batch.runner as runner
from experiments.cli import exit_status, finished_runs
from sim import load_config
from sim.batch import RunSpec, run_batch
from sim.batch.status import read_status, write_status
from sim.core.errors import interrupted
from sim.io.files import write_summary

ROOT = Path(__file__).resolve().parents[1]
calibration = importlib.import_module("sim.validation.calibrate")  # the package's name is its function
TINY = ["scale=0.002", "years=1", "ecosystem.warmup_years=0", "output.plots=false"]


def _chained(outer: type[BaseException], inner: BaseException) -> BaseException:
    """``outer`` raised while ``inner`` was being handled (its ``__context__``)."""
    try:
        try:
            raise inner
        except BaseException:
            raise outer("half-built node")  # noqa: B904 - the implicit context is the point
    except BaseException as exc:
        return exc


def test_a_ctrl_c_that_a_library_turned_into_another_error_is_an_interruption():
    assert interrupted(KeyboardInterrupt())
    assert interrupted(_chained(AttributeError, KeyboardInterrupt()))
    assert not interrupted(_chained(AttributeError, ValueError("x")))
    assert not interrupted(ValueError("x"))


def test_a_run_stopped_inside_a_library_is_interrupted_not_failed(tmp_path, monkeypatch):
    def stopped(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise AttributeError("'NoneType' object has no attribute '_invalidate_flags_cache'")  # noqa: B904

    monkeypatch.setattr(runner, "_simulate", stopped)
    with pytest.raises(KeyboardInterrupt):
        runner.execute(load_config(TINY), tmp_path / "run")
    status = read_status(tmp_path / "run")
    assert status["status"] == "interrupted" and not (tmp_path / "run" / "error.txt").exists()


def test_a_batch_that_resumes_says_how_many_runs_it_reuses(tmp_path):
    specs = [RunSpec(f"seed={s}", [*TINY, f"seed={s}"]) for s in (1, 2)]
    notes: list[str] = []
    first = run_batch(specs[:1], tmp_path, tables=False, progress=False, note=notes.append)
    assert notes == [] and first["status"].tolist() == ["completed"]
    again = run_batch(specs, tmp_path, tables=False, progress=False, note=notes.append)
    assert notes == [f"resuming: 1 of the 2 runs in {tmp_path} are finished and reused; 1 to run"]
    assert again["reused"].tolist() == [True, False] and set(again["status"]) == {"completed"}


def test_a_stopped_tool_says_how_many_finished_runs_it_keeps(tmp_path, capsys):
    for i, status in enumerate(("completed", "completed", "interrupted", "failed", "running")):
        run = tmp_path / "runs" / f"arm/seed={i}"
        write_status(run, status=status, pid=2**22 + 7, started="2026-01-01T00:00:00")  # no such process
        write_summary(run, {"finished": status != "interrupted"})
    # seed=4: Ctrl-C came after its last table and before its status record; a resumed batch
    # reuses it, so the count that tells the user what is kept includes it (CI, 2026-12-04)
    assert finished_runs(tmp_path / "runs") == 3 and finished_runs(tmp_path / "nothing") == 0
    (tmp_path / "runs" / "arm/seed=4/summary.json").unlink()
    assert finished_runs(tmp_path / "runs") == 2
    assert exit_status(KeyboardInterrupt(), tmp_path / "runs") == 130
    assert capsys.readouterr().err == (f"error: interrupted; the 2 finished runs in {tmp_path / 'runs'} are kept: run "
                                       "the same command again to resume.\n")
    assert exit_status(KeyboardInterrupt(), tmp_path / "nothing") == 130
    assert capsys.readouterr().err == "error: interrupted; no run had finished yet.\n"


def test_a_calibration_stopped_before_its_first_trial_is_an_interruption(tmp_path, monkeypatch):
    pytest.importorskip("optuna")
    monkeypatch.setattr(calibration, "_run_trials", lambda *a, **k: True)  # Ctrl-C during the first trial
    with pytest.raises(KeyboardInterrupt):
        calibration.calibrate("zhongguancun", ["ecosystem.firms.growth_quality=0.2:1.0"],
                            ["zgc_new_high_tech_enterprises_2024"], outdir=tmp_path, seeds=1,
                            overrides=["ecosystem.warmup_years=0"], scale=0.002, log=None)


# ------------------------------------------------------------------------------ from a terminal


class Terminal:
    """A command whose output goes to a pseudo-terminal of 80 columns, as when a user runs it; Ctrl-C
    is what the key does on a terminal: SIGINT to the command's process group (workers included)."""

    def __init__(self, args, cwd: Path):
        import fcntl  # noqa: PLC0415 - POSIX only, like the test that uses it
        import pty  # noqa: PLC0415
        import struct  # noqa: PLC0415
        import termios  # noqa: PLC0415

        env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.fd, tty = pty.openpty()
        fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdin=tty, stdout=tty, stderr=tty,
                                     start_new_session=True, preexec_fn=sigint_as_on_a_terminal)
        os.close(tty)
        self.output = b""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # the command has closed the terminal
                return
            if not data:
                return
            self.output += data

    def wait_for(self, condition, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not condition() and self.proc.poll() is None:
            self.read(0.5)
        assert condition(), self.text

    def ctrl_c(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self, timeout: float = 900) -> int:
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.read(0.5)
        self.read(0.5)
        assert self.proc.poll() is not None, f"still running after {timeout} s: {self.text}"
        return self.proc.returncode

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_comparison_stopped_with_ctrl_c_resumes_and_says_so(tmp_path):
    args = ["-m", "experiments.compare_policies", "--policies", "state_incubator", "scene_opening", "--seeds", "3",
            "--jobs", "1", "--outdir", "cmp", "scale=0.005", "years=2", "ecosystem.warmup_years=1"]
    runs = tmp_path / "cmp" / "runs"
    term = Terminal(args, tmp_path)
    term.wait_for(lambda: finished_runs(runs) >= 2, timeout=600)
    term.ctrl_c()
    assert term.finish() == 130
    kept = finished_runs(runs)
    assert 2 <= kept < 9
    last = term.text.strip().splitlines()[-1]
    assert last == f"error: interrupted; the {kept} finished runs in cmp/runs are kept: run the same command again " \
                   "to resume."
    assert "Traceback" not in term.text and "comparison runs:" in term.text  # the progress bar was shown
    again = Terminal(args, tmp_path)
    assert again.finish() == 0, again.text
    assert f"resuming: {kept} of the 9 runs in cmp/runs are finished and reused; {9 - kept} to run" in again.text
    assert f"{kept} reused" in again.text and "wrote cmp/report.md" in again.text
    assert "warning" not in again.text.lower() and "Traceback" not in again.text

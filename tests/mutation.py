"""Mutation testing of the stage rules, the financing and exit arithmetic and the policies (mutmut).

    .venv/bin/python tests/mutation.py stages          # one module group (see MODULES)
    .venv/bin/python tests/mutation.py --all            # every group, one after the other
    .venv/bin/python tests/mutation.py stages --jobs 2  # worker processes (default 1)
    .venv/bin/python tests/mutation.py policies --sample 3  # the mutants numbered ...3: a tenth of each function's
    .venv/bin/python tests/mutation.py lending --survivors  # test the last run's survivors again (after new tests)
    make mutation MODULE=stages                         # the same through make

Each group mutates its modules with its own fast test selection (mutmut runs, for each mutant,
only the selected tests that call the mutated function, and stops at the first failure). The
run happens in a scratch copy of the repository (``.mutation/<group>/``, git-ignored), so that
groups with different test selections keep their own results and a run never touches the work
tree; mutmut remembers finished mutants there, so an interrupted run resumes.

At the end it prints the score (killed / (killed + survived), mutants no test reaches count as
survived) and the surviving mutants (``mutmut show <name>`` in the scratch directory shows one),
and writes them to ``.mutation/<group>/summary.json``. docs/testing.md records the scores and
the survivors judged harmless.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / ".mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")

#: The fixed-seed regression case (tests/test_regression.py): it notices any change of behaviour, so it
#: is in every selection; the other files check what the module should do.
REGRESSION = "tests/test_regression.py"
#: group -> (modules to mutate, test files that exercise them quickly)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "stages": (["sim/stages.py"], ["tests/test_stages.py", "tests/test_invariants.py", REGRESSION]),
    "rounds": (
        ["agents/investors/rounds.py"],
        ["tests/test_rounds.py", "tests/test_invariants.py", "tests/test_kernels.py", REGRESSION],
    ),
    "exits": (
        ["agents/investors/exits.py"],
        ["tests/test_invariants.py", "tests/test_rounds.py", "tests/test_kernels.py", REGRESSION],
    ),
    "lending": (
        ["agents/investors/lending.py"],
        # test_kernels: the reference rule of who applies; test_policy_mechanics: the credit policy's
        # risk pool (write-offs it covers) and venture loans
        ["tests/test_invariants.py", "tests/test_rounds.py", "tests/test_kernels.py", "tests/test_policy_mechanics.py",
         REGRESSION],
    ),
    # test_capital_market: the books' identities after failures, the mandate of a fund of funds
    "books": (["agents/investors/books.py"], ["tests/test_invariants.py", "tests/test_rounds.py",
                                              "tests/test_capital_market.py", REGRESSION]),
    "policies": (
        ["sim/policies/*.py"],
        ["tests/test_policy_mechanics.py", "tests/test_policies.py", "tests/test_levers.py", REGRESSION],
    ),
}
COPY = ("sim", "agents", "conf", "tests", "docs", "pyproject.toml", "README.md")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "artifacts", ".pytest_cache")


def config(modules: list[str], tests: list[str]) -> str:
    q = lambda xs: "[" + ", ".join(f'"{x}"' for x in xs) + "]"  # noqa: E731
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["sim", "agents"]\n'
        f"only_mutate = {q(modules)}\n"
        'also_copy = ["conf", "docs", "README.md"]\n'
        f"pytest_add_cli_args_test_selection = {q(tests)}\n"
        # the tests that break the model on purpose (monkeypatched) are demonstrations, not mutant killers
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-n", "0", "-m", "not slow", "-q", '
        '"-k", "not catches"]\n'
        "timeout_multiplier = 5.0\n"
        "use_git_change_detection = false\n"
        # each mutant's tests run in a process forked from a server that has only collected the tests: forked
        # from mutmut's own process (the default), they inherited the modules imported by its run of the whole
        # selection, with the caches of runs they fill (test_policies' _CACHE), so those tests compared
        # the un-mutated code's runs and no mutant they reached could fail them
        'process_isolation = "forkserver"\n'
        'forkserver_warmup = "collect"\n'
    )


def prepare(group: str) -> Path:
    modules, tests = MODULES[group]
    work = SCRATCH / group
    work.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src, dst = ROOT / name, work / name
        if src.is_dir():
            shutil.copytree(src, dst, ignore=IGNORE, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (work / "pyproject.toml").write_text(text + config(modules, tests), encoding="utf-8")
    return work


def results(work: Path) -> dict[str, list[str]]:
    out = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=work, capture_output=True, text=True)
    by_status: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        name, _, status = line.strip().partition(": ")
        if status:
            by_status.setdefault(status.strip(), []).append(name.strip())
    return by_status


def run(group: str, jobs: int, sample: str | None = None, survivors: bool = False) -> dict:
    """Mutation-test one group; ``sample`` (digits, e.g. "37") tests only the mutants whose number
    ends in one of them, a systematic sample of every function (a tenth per digit). mutmut keeps
    the result of a mutant it has tested; ``survivors`` tests the last run's survivors again (once
    tests were added for them), after the mutants not tested yet (of the sample, with ``sample``)."""
    work = prepare(group)
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    last = work / "summary.json"
    again = json.loads(last.read_text(encoding="utf-8"))["survivors"] if survivors and last.exists() else []
    mutmut = [str(MUTMUT), "run", "--max-children", str(jobs)]
    if sample is None:
        subprocess.run(mutmut, cwd=work, env=env, check=False)  # the mutants not tested yet
    elif not (work / "mutants").exists():
        subprocess.run([*mutmut, f"*__mutmut_*[{sample}]"], cwd=work, env=env, check=False)
    else:
        # mutmut tests every mutant it is given by name again, tested or not: a sampled run resumes by
        # naming the sample's mutants not tested yet (none left: nothing to run, not every mutant)
        pending = [n for n in results(work).get("not checked", []) if n[-1] in sample]
        if pending:
            subprocess.run([*mutmut, *pending], cwd=work, env=env, check=False)
    if again:
        subprocess.run([*mutmut, *again], cwd=work, env=env, check=False)
    seconds = time.perf_counter() - t0
    by = results(work)
    killed = len(by.get("killed", [])) + len(by.get("timeout", [])) + len(by.get("segfault", []))
    survived = by.get("survived", []) + by.get("no tests", [])
    summary = {
        "group": group,
        "modules": MODULES[group][0],
        "tests": MODULES[group][1],
        "counts": {k: len(v) for k, v in sorted(by.items())},
        "sample": f"mutants numbered ...[{sample}]" if sample else "every mutant",
        "score": killed / (killed + len(survived)) if killed + len(survived) else None,
        "seconds": round(seconds),
        "survivors": sorted(survived),
    }
    (work / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    score = "n/a" if summary["score"] is None else f"{summary['score']:.1%}"
    print(f"{group}: {summary['counts']}, score {score}, {seconds / 60:.1f} min")
    for name in summary["survivors"]:
        print("  survived:", name)
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("groups", nargs="*", help=f"module groups: {', '.join(MODULES)}")
    ap.add_argument("--all", action="store_true", help="every group")
    ap.add_argument("--jobs", type=int, default=1, help="mutmut worker processes")
    ap.add_argument("--survivors", action="store_true", help="also test the last run's survivors again")
    ap.add_argument("--sample", metavar="DIGITS", help="only the mutants whose number ends in one of these digits "
                    "(a systematic sample, a tenth per digit; e.g. --sample 37)")
    args = ap.parse_args(argv)
    groups = list(MODULES) if args.all else args.groups
    if not groups or set(groups) - set(MODULES):
        ap.error(f"name groups among {', '.join(MODULES)}, or --all")
    if args.sample is not None and not (args.sample.isdigit() and len(set(args.sample)) == len(args.sample)):
        ap.error(f"--sample takes distinct digits, e.g. 37 (got {args.sample!r})")
    for g in groups:
        run(g, args.jobs, args.sample, args.survivors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write the teaching notebooks (notebooks/*.ipynb) from the cells below, with no outputs.

    .venv/bin/python notebooks/make_notebooks.py          # rewrite every notebook
    .venv/bin/python notebooks/make_notebooks.py --check  # exit 1 if a notebook differs from this file

The notebooks are kept as Python here so that they can be reviewed as code; the .ipynb files are
generated and committed with cleared outputs. tests/test_notebooks.py executes every notebook
with nbclient (each one asserts what it shows) and checks that the files match this script.
Each notebook imports the package and never defines the model; at teaching size each runs in
well under two minutes on a laptop.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''\
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim import fonts, load_config
from sim.run import run_simulation

fonts.use()  # Chinese labels (赛道, 瞪羚, 独角兽) with the font the package installs (sim/fonts.py)
pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 20)'''


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


# ============================================================================================
# 01: a first run
# ============================================================================================

NB01 = [
    md('''
# 1. A first run: the funnel 创业 → 瞪羚 → 独角兽

This notebook runs the model once and looks at three things the reports talk about:

1. **the funnel**: many firms are founded (创业, *startups*), few grow fast enough to be
   **gazelles** (瞪羚), and very few reach a valuation of a billion US dollars as **unicorns** (独角兽);
2. **a firm's life**: one firm followed from its founding, through its financing rounds, to where it is now;
3. **the size distribution**: most firms stay tiny, a few become very large.

The model is an agent-based simulation of a science park, with the 中关村 (Zhongguancun) preset as
its default. Everything here comes from the package (`sim`); the notebook only runs it and reads
its output tables. Run the cells from top to bottom (in Jupyter: *Run → Run All Cells*).
'''),
    code(SETUP),
    md('''
## Running the model

A run is described by a configuration. `load_config` takes the same `key=value` overrides as the
command line (`python -m sim scale=0.3 years=10`). **scale** sizes the park: at `scale=0.3` it
has 30 % of the 中关村 preset's firms, investors and money (about 33,000 firms founded a year),
enough for unicorns to appear every year, and it still runs in a few seconds (the full park,
`scale=1`, in about ten). The model first runs some **warm-up** years (`ecosystem.warmup_years`,
8 by default) so that the first observed year starts with firms of all ages, then the **observed
window** (`years=10`: 2015-2024).
'''),
    code('''
cfg = load_config(["scale=0.3", "years=10", "seed=1"])
res = run_simulation(cfg, progress=False)
totals = res.summary["totals"]
wall = res.summary["wall_seconds"]
print(f"simulated {cfg.ecosystem.warmup_years} warm-up and {cfg.years} observed years in {wall:.1f} s")
pd.Series(totals)
'''),
    md('''
`res.tables` holds the output tables (the same Parquet files `python -m sim` writes; their
columns are described in `docs/outputs.md`). `timeseries` has one row per observed month.

## 1. The funnel

A **gazelle** here follows the OECD-Eurostat definition of a high-growth enterprise (the
`stages.gazelle_definition=oecd` default): at least 20 % average yearly growth in employees over
three years, starting from at least 10 employees, and at most five years old. A **unicorn** is a
firm valued at US$1 billion or more and at most ten years old. Live firms that are neither are
counted as startups.
'''),
    code('''
ts = res.tables["timeseries"]
yearly = ts.groupby("year").agg(
    startups=("startups", "last"), gazelles=("gazelles", "last"), unicorns=("unicorns", "last"),
    founded=("births", "sum"), new_gazelles=("new_gazelles", "sum"), new_unicorns=("new_unicorns", "sum"),
)
yearly
'''),
    code('''
fig, ax = plt.subplots(figsize=(8, 4))
for col, colour in (("startups", "#4C72B0"), ("gazelles", "#DD8452"), ("unicorns", "#8172B3")):
    ax.plot(ts["year"] + (ts["month"] - 1) / 12, ts[col].where(ts[col] > 0), label=col, color=colour)
ax.set_yscale("log")
ax.set_ylabel("live firms (log scale)")
ax.set_title("The funnel: 创业 → 瞪羚 → 独角兽")
ax.legend()
plt.show()
'''),
    md('''
The funnel narrows at every step, every month and over the whole window: of the firms founded in
the window only a small share ever became gazelles, and unicorns are rarer still. The cell below
**checks** this (if the model changed so that it no longer holds, the notebook stops here with an
error).
'''),
    code('''
founded = int(ts["births"].sum())
new_gazelles = int(ts["new_gazelles"].sum())
new_unicorns = int(ts["new_unicorns"].sum())
print(f"founded {founded:,}, new gazelles {new_gazelles:,} ({new_gazelles / founded:.2%}), new unicorns {new_unicorns}")

assert (ts["gazelles"] < ts["startups"]).all(), "every month, gazelles are fewer than startups"
assert (ts["unicorns"] <= ts["gazelles"]).all(), "every month, unicorns are no more than gazelles"
assert founded > 10 * new_gazelles > 0, "fewer than one founded firm in ten becomes a gazelle"
assert new_unicorns <= new_gazelles, "unicorns are rarer than gazelles"
assert new_unicorns >= 10 and (yearly["new_unicorns"] > 0).all(), "a park this size makes unicorns every year"
'''),
    md('''
## 2. A firm's life

Firms live in columns of numbers (for speed), but any firm can be looked at as a **Mesa agent**
with `model.firm(id)`: the object reads the firm's current state from the model. Here we pick the
firm that became a unicorn (or, if none did, the most valuable gazelle) and follow it.
'''),
    code('''
import mesa

firms = res.tables["firms"]
unicorns = firms[firms["unicorn_step"].notna()]
pool = unicorns if len(unicorns) else firms[firms["gazelle_step"].notna()]
pick = pool.sort_values("valuation", ascending=False).iloc[0]
fid = int(pick["firm_id"])

firm = res.model.firm(fid)          # a mesa.Agent
print(firm)
print(f"origin: {firm.origin}; track (赛道): {firm.track}; alive: {firm.alive}; stage: {firm.stage}")
print(f"employees {firm.employees:,.0f}, revenue {firm.revenue:,.1f} mcny/yr, valuation {firm.valuation:,.0f} mcny, "
      f"raised {firm.raised:,.1f} mcny")

tracks = res.tables["tracks"].set_index("track_id")
assert isinstance(firm, mesa.Agent) and firm.model is res.model
assert firm.track == tracks.loc[int(pick["track_id"]), "name"]
assert np.isclose(firm.employees, pick["employees"], rtol=1e-5), "the agent shows the same firm as the table"
'''),
    md('''
Its financing rounds (`deals`: seed, A, B, ... from angels, VC funds, guidance funds 引导基金 and
bank loans) and its changes of stage (`stage_changes`), month by month. Step 0 is January 2015;
negative steps are in the warm-up. A firm's life ends when it fails, is acquired, lists (IPO), or
reaches ten years of age, when it leaves the young-firm population the model follows (`aged_out`).
'''),
    code('''
deals = res.tables["deals"]
mine = deals[deals["firm_id"] == fid][["year", "round", "investor_kind", "amount", "pre_money", "post_money"]]
print(mine.to_string(index=False) if len(mine) else "no deal in the observed window")
changes = res.tables["stage_changes"]
history = changes[changes["firm_id"] == fid]
history
'''),
    code('''
# the stage history agrees with the firm's record: it became a gazelle / unicorn in the month the firms table says
for stage, col in (("gazelle", "gazelle_step"), ("unicorn", "unicorn_step")):
    if pd.notna(pick[col]):
        first = history.loc[history["to_stage"] == stage, "step"].min()
        assert first == int(pick[col]), (stage, first, pick[col])
        print(f"became a {stage} in step {first} ({cfg.ecosystem.start_year + first // 12}-{first % 12 + 1:02d})")
'''),
    code('''
fy = res.tables["firm_years"]
life = fy[fy["firm_id"] == fid].set_index("year")[["age_years", "employees", "revenue", "valuation", "stage"]]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
a1.plot(life.index, life["employees"], marker="o"); a1.set_title("employees at year end")
a2.plot(life.index, life["revenue"], marker="o", color="tab:green"); a2.set_title("revenue run rate (mcny/yr)")
for a in (a1, a2):
    a.set_xlabel("year")
plt.show()
assert len(life) > 0
life
'''),
    md('''
## 3. The firm-size distribution

At the end of the last observed year, how many employees do the park's firms have? Sizes of real
firms are heavy-tailed: most are tiny and a few are very large, and the share of firms larger
than *x* falls roughly like a power of *x* (a straight line on a log-log plot). The **Hill
estimate** of the tail exponent α on the largest 10 % of firms measures how heavy the tail is
(smaller α: heavier; real economies show α near 1).
'''),
    code('''
from sim.io.plots import hill_tail_exponent

last = fy[fy["year"] == fy["year"].max()]
emp = np.sort(last["employees"].to_numpy())
ccdf = 1.0 - np.arange(len(emp)) / len(emp)
hill = hill_tail_exponent(emp)

fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(emp, ccdf, ".", ms=2)
ax.set_xlabel("employees"); ax.set_ylabel("share of firms at least this large")
ax.set_title(f"Firm sizes at the end of {int(fy['year'].max())}: Hill α = {hill['alpha']:.2f}")
plt.show()
median, largest = np.median(emp), emp.max()
print(f"{len(emp):,} live firms; median {median:.1f} employees, largest {largest:,.0f}; Hill alpha {hill['alpha']:.2f} "
      f"± {hill['se']:.2f}")

assert median < 10, "most firms are small"
assert largest > 50 * median, "a few firms are very large"
assert 0.5 < hill["alpha"] < 2.5, "a heavy, Zipf-like tail"
'''),
    md('''
**Try it yourself**: change `seed=1` to another number, `scale=0.3` to `1` (the whole park), or
`stages.gazelle_definition=tiered_cn` (the revenue-tier test of some Chinese high-tech zones) in the
`load_config` cell and run everything again. The next notebook looks at the tracks (赛道).
'''),
]


# ============================================================================================
# 02: tracks
# ============================================================================================

NB02 = [
    md('''
# 2. Tracks (赛道): lifecycle, fission and fusion, the shift from 商业 to 科技

Firms are founded into **tracks** (赛道), the reports' word for a sector that investors and founders
chase. Tracks are grouped in six **directions** (方向): 商业 commerce, 民生 livelihood, 社会 society,
数字 digital, 产业 industry and 科技 technology, and come at two levels: **main tracks** (主赛道) and
the **new tracks** (新赛道) that grow out of them.

Tracks are not fixed. Each has a **lifecycle** (latent → emerging → formed → explosive → mature →
consolidating → ended), and the system changes: a track near everyday needs can split (**fission**,
裂变), two active tracks can merge into a new one (**fusion**, 融合), a research breakthrough can open
a track, and mature tracks consolidate into others. The reports describe the system moving from
commerce (商业) towards frontier technology (科技); this notebook shows the model doing so.
'''),
    code(SETUP + '''

from sim.validation import track_targets
from sim.core.vocabulary import DIRECTIONS, DIRECTION_EN, LIFECYCLE'''),
    code('''
cfg = load_config(["scale=0.3", "years=10", "ecosystem.warmup_years=3", "seed=0", "output.firm_years=false"])
res = run_simulation(cfg, progress=False)
tables = res.tables
tracks = tables["tracks"]
print(f"{len(tracks)} tracks ever, {res.summary['totals']['tracks_active_at_end']} active at the end; run took "
      f"{res.summary['wall_seconds']:.1f} s")
track_targets.listed_counts(tables)   # the listed (2021) system the run starts from: main and new tracks per direction
'''),
    md('''
## Lifecycle

`track_transitions` records every change of lifecycle state. A track's history is a chain: each
transition starts in the state the previous one ended in, and states only move forward.
'''),
    code('''
tt = tables["track_transitions"]
life = tt[~tt["from_state"].str.startswith("level:")]      # level promotions (new -> main) are recorded too
print(life.groupby(["from_state", "to_state"]).size().rename("transitions").to_string())

for tid, g in life.groupby("track_id"):
    g = g.sort_values("step", kind="stable")
    assert (g["from_state"].to_numpy()[1:] == g["to_state"].to_numpy()[:-1]).all(), f"track {tid}: broken chain"
    assert all(LIFECYCLE.index(b) > LIFECYCLE.index(a) for a, b in zip(g["from_state"], g["to_state"])), tid
ended = tracks[tracks["state"] == "ended"]
assert ended["ended_step"].notna().all() and tracks.loc[tracks["state"] != "ended", "ended_step"].isna().all()
'''),
    code('''
ts = tables["timeseries"]
states = [s for s in LIFECYCLE if s != "ended"]
fig, ax = plt.subplots(figsize=(8, 4))
ax.stackplot(ts["year"] + (ts["month"] - 1) / 12, [ts[f"tracks_{s}"] for s in states], labels=states)
ax.set_ylabel("active tracks"); ax.set_title("Active tracks by lifecycle state")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1)); plt.show()
'''),
    md('''
## Fission (裂变) and fusion (融合)

Every track created during the run records the mechanism that made it (`created_by`) and its
parents (`parent_ids`). A fission child splits off **one** parent; a fusion joins **two or more**
tracks; a breakthrough opens a track next to the one where the research happened.
'''),
    code('''
names = tracks.set_index("track_id")["name"]
born = tracks.set_index("track_id")["born_step"]
created = tracks[tracks["created_by"] != "initial"].copy()
created["parents"] = created["parent_ids"].map(lambda p: " + ".join(names[int(i)] for i in p))
created["year"] = cfg.ecosystem.start_year + created["born_step"] // 12
print(created[["name", "direction", "created_by", "parents", "year", "state"]].to_string(index=False))

for _, t in created.iterrows():
    parents = [int(i) for i in t["parent_ids"]]
    if t["created_by"] == "fission":
        assert len(parents) == 1, f"{t['name']}: a fission child has one parent"
    elif t["created_by"] == "fusion":
        assert len(parents) >= 2, f"{t['name']}: a fusion has two or more parents"
    assert all(born[p] <= t["born_step"] for p in parents), "parents exist before their children"
assert (created["created_by"] == "fission").any() and (created["created_by"] == "fusion").any()
'''),
    code('''
# which main tracks split most (the reports' Table 3 lists 8 main tracks with 24 derived tracks since 2019)
track_targets.derived_per_main(tables)
'''),
    md('''
## The genealogy

Tracks and their parent links form a family tree (a directed graph with no cycles: nothing is its
own ancestor). The package draws it from the tables (`sim.io.plots.make_plots`, the same plots
`python -m sim` writes).
'''),
    code('''
import tempfile
from pathlib import Path

import networkx as nx
from IPython.display import Image, display

g = nx.DiGraph()
for _, t in created.iterrows():
    for p in t["parent_ids"]:
        g.add_edge(int(p), int(t["track_id"]))
assert nx.is_directed_acyclic_graph(g)
print(f"{g.number_of_nodes()} tracks in the genealogy, {g.number_of_edges()} parent links, longest line of descent "
      f"{nx.dag_longest_path_length(g)} generations")

outdir = Path(tempfile.mkdtemp(prefix="tracks_"))
res.write(outdir)                       # tables, summary.json and the standard plots
display(Image(filename=str(outdir / "track_genealogy.png")))
'''),
    md('''
## The direction shift: from 商业 to 科技

The reports count the new tracks per direction in the first edition (2021) and four years later
(2025): commerce (商业) fell from 22 to 9 while technology (科技) rose from 11 to 25. In the model,
commerce tracks sit close to everyday needs and consolidate as they mature, while research
breakthroughs and fusions with general-purpose technologies feed the technology direction.
`track_system_change` compares the listed system with the one some years into the run.
'''),
    code('''
change = track_targets.track_system_change(tables, years_later=cfg.years)
change
'''),
    code('''
new_cols = [f"new_tracks_{DIRECTION_EN[d]}" for d in DIRECTIONS]
year_end = ts.groupby("year")[new_cols].last()
share = year_end.div(year_end.sum(axis=1), axis=0)
share.columns = [f"{d} {DIRECTION_EN[d]}" for d in DIRECTIONS]
share.plot(figsize=(8, 4), marker="o", title="Share of active new tracks (新赛道) by direction")
plt.ylabel("share"); plt.show()
'''),
    md('''
One run is one possible history. To see whether the shift is a property of the model and not
luck, we run a few more seeds (smaller parks, so that this takes seconds) and compute the yearly
trend of the technology minus commerce share of new tracks (`frontier_minus_commerce_trend`,
positive when the system shifts towards 科技).
'''),
    code('''
rows = []
for seed in range(4):
    r = run_simulation(load_config(["scale=0.01", "years=8", "ecosystem.warmup_years=3", f"seed={seed}",
                                    "output.firm_years=false"]), progress=False)
    ch = track_targets.track_system_change(r.tables, years_later=8)
    rows.append({"seed": seed, "trend_per_year": track_targets.frontier_minus_commerce_trend(r.tables),
                 "commerce_new_change": ch.loc["商业", "new_change"],
                 "technology_new_change": ch.loc["科技", "new_change"]})
shift = pd.DataFrame(rows)
print(shift.to_string(index=False))
summary = track_targets.summarise(shift["trend_per_year"])
print(f"mean trend {summary['mean']:+.3f} per year (95 % interval {summary['lo']:+.3f} to {summary['hi']:+.3f})")

assert summary["mean"] > 0, "on average the system shifts from commerce towards technology"
assert (shift["technology_new_change"] > shift["commerce_new_change"]).all()
'''),
]


# ============================================================================================
# 03: policies
# ============================================================================================

NB03 = [
    md('''
# 3. Comparing policies

A policy (政策) acts on the ecosystem through the model's own mechanisms: more founders, grants,
cheaper credit, a guidance fund (引导基金) that co-invests with VC, opened application scenarios
(场景开放), or, the other way round, a sanctions shock (脱钩断链) on exposed tracks. Each one has a
configuration in `conf/policy/` (documented in `docs/policies.md`) and can be switched on from the
command line: `python -m sim policy=[entry_subsidy]`.

How do we know what a policy changes? One run with and one without it is not enough: the
difference would mix the policy's effect with luck. `sim.analysis.compare.compare_policies` runs the
baseline and each policy in the same set of **simulated worlds** (seeds). In a world, both runs
share all their chance events (**common random numbers**: the same founders, the same luck), so
their difference is the policy's effect there; the spread of the differences over the worlds
gives a 95 % interval.
'''),
    code(SETUP + '''

from sim.analysis.compare import TEACHING_OVERRIDES, compare_policies
from sim.compose import available_policies
print("policy configurations:", ", ".join(available_policies()))
print("teaching-size park:", " ".join(TEACHING_OVERRIDES))'''),
    md('''
We compare two policies with opposite expected effects:

* **entry_subsidy**: entry subsidies and easier registration (一室多照, 工位注册制); it should bring
  *more* firms and, with them, more jobs;
* **sanctions_shock**: a decoupling shock (脱钩断链) on exposed technology tracks; it should cost
  jobs and gazelles.

Four worlds each (a real study would use more; see `python -m experiments.compare_policies`).
'''),
    code('''
import tempfile
from pathlib import Path

outdir = Path(tempfile.mkdtemp(prefix="compare_"))
comp = compare_policies(TEACHING_OVERRIDES, ["entry_subsidy", "sanctions_shock"], seeds=4, outdir=outdir, jobs=1)
print(f"{len(comp.outcomes)} runs in {comp.setup['wall_seconds']:.0f} s")
base = comp.outcomes[comp.outcomes["arm"] == "baseline"]
print("new unicorns in each baseline world:", base["new_unicorns"].tolist())
assert (base["new_unicorns"] >= 10).all(), "a tenth of the park is large enough for unicorns to appear"
comp.outcomes[["arm", "seed", "firms_born", "new_gazelles", "new_unicorns", "jobs", "public_spending"]]
'''),
    md('''
Each line below joins the baseline and a policy **in the same world**. The worlds differ a lot
from each other (luck), but within a world the policy moves jobs the same way every time: that is
why pairing gives narrow intervals from only four worlds.
'''),
    code('''
o = comp.outcomes.pivot(index="seed", columns="arm", values="jobs")
fig, ax = plt.subplots(figsize=(7, 4))
arms = ["baseline", "entry_subsidy", "sanctions_shock"]
for seed, row in o.iterrows():
    ax.plot(range(len(arms)), row[arms].to_numpy(), marker="o", color="0.5", alpha=0.7)
    ax.annotate(f"world {seed}", (len(arms) - 1, row[arms[-1]]), xytext=(5, 0), textcoords="offset points", fontsize=8)
ax.set_xticks(range(len(arms)), arms)
ax.set_ylabel("jobs at the end of the window")
ax.set_title("The same worlds with and without each policy")
plt.show()
'''),
    md('''
`differences` has, per policy and outcome, the mean paired difference (policy minus baseline) and
its 95 % interval. An interval that excludes zero is unlikely to be chance.
'''),
    code('''
diffs = comp.differences
show = ["firms_born", "jobs", "new_gazelles", "survival_rate", "public_spending"]
diffs[diffs["outcome"].isin(show)][["arm", "outcome", "baseline_mean", "diff_mean", "ci_low", "ci_high", "significant"]]
'''),
    code('''
d = comp.differences.set_index(["arm", "outcome"])


def interval(arm, outcome):
    r = d.loc[(arm, outcome)]
    print(f"{arm:>16} {outcome:<14} {r['diff_mean']:+12,.1f}  (95 % interval {r['ci_low']:+,.1f} to "
          f"{r['ci_high']:+,.1f})")
    return r

r = interval("entry_subsidy", "firms_born")
assert r["ci_low"] > 0, "the entry subsidy brings more founders"
r = interval("entry_subsidy", "jobs")
assert r["diff_mean"] > 0
r = interval("entry_subsidy", "public_spending")
assert r["diff_mean"] > 0, "and it costs public money"
r = interval("sanctions_shock", "jobs")
assert r["ci_high"] < 0, "the sanctions shock costs jobs"
r = interval("sanctions_shock", "firms_born")
assert abs(r["diff_mean"]) < 0.001 * d.loc[("sanctions_shock", "firms_born"), "baseline_mean"]


def founded(arm, seed, origin):
    """Firms of one origin founded in one run (each run's time series is under outdir/runs)."""
    ts = pd.read_parquet(outdir / "runs" / arm / f"seed={seed}" / "timeseries.parquet")
    return int(ts[f"births_{origin}"].sum())


for seed in range(4):
    same = founded("sanctions_shock", seed, "independent") == founded("baseline", seed, "independent")
    spinoffs = founded("sanctions_shock", seed, "spinoff") - founded("baseline", seed, "spinoff")
    print(f"world {seed}: the same independent founders in both arms: {same}; research spin-offs {spinoffs:+d}")
    assert same, "common random numbers: the same independent founders in both arms"
'''),
    md('''
The last lines show common random numbers at work: the sanctions shock does not act on founding,
so in every world exactly the same independent founders start firms with and without it. The few
firms born that differ are research institutes' spin-offs, which follow the institutes' research
and licences, and those respond to what the shock does to the tracks. Every other difference
comes from what the shock does to the same firms.

The comparison also writes plots (the intervals, costs, effects year by year, direct and spill-over
effects) and a report for decision makers in English (`report.md`) and Chinese (`report.zh.md`),
with the cost per additional gazelle and unicorn where it can be estimated, the number of worlds
an effect would need, and what the numbers can and cannot say.
'''),
    code('''
from IPython.display import Image, Markdown, display

display(Image(filename=str(outdir / "differences.png")))
report = (outdir / "report.md").read_text(encoding="utf-8")
summary = report.split("## Policy by policy")[0]
display(Markdown("\\n".join(line for line in summary.splitlines() if not line.startswith("!["))))
assert "entry_subsidy" in report and "95 %" in report
'''),
    md('''
**Try it yourself**: add `"guidance_fund"` or `"scene_opening"` to the list, or combine two policies
in one arm with `"entry_subsidy+rd_grants"`, or change a parameter: `"entry_subsidy:subsidy_mcny=0.05"`.
Effects on rare events (unicorns) need many more worlds or a larger park before an interval
excludes zero: `comp.differences` says how many (`seeds_needed`).
'''),
]


# ============================================================================================
# 04: validation and calibration
# ============================================================================================

NB04 = [
    md('''
# 4. Validation against the reports, and a small calibration

A model is only as good as its match with what we know. The reports give figures for 中关村 and
other parks: firms founded per year, new unicorns, the stock of unicorns, high-tech enterprises.
`conf/targets/*.yaml` lists them as **targets**: the reported value, a tolerance **band** (how far
off a simulated value may be, with the reason), the source (report and line), and the function
that computes the simulated counterpart from a run's tables.

**Validation** runs several seeds and asks, target by target: does the mean of the simulated values
fall inside the band? **Calibration** turns the question round: which parameter values make the
simulated values closest to the reported ones?
'''),
    code(SETUP + '''

from sim.validation import calibrate, load_registry, validate'''),
    code('''
registry = load_registry()
targets = registry.for_preset("zhongguancun")
pd.DataFrame([{"target": t.name, "description": t.description, "unit": t.unit,
               "band": f"{t.band[0]:g} to {t.band[1]:g}"}
              for t in targets])
'''),
    md('''
## Validation

Two seeds of a park at 10 % of the preset's size, where about twenty unicorns appear in a run (the
full validation uses the run settings of `conf/targets/`: the whole park and ten seeds,
`python -m experiments.validate ecosystem=zhongguancun`).
Extensive counts (firms, unicorns) are divided by `scale` before they are compared with the
reported figures, which are for the whole park.
'''),
    code('''
import tempfile
from pathlib import Path

outdir = Path(tempfile.mkdtemp(prefix="validation_"))
val = validate("zhongguancun", seeds=2, scale=0.1, outdir=outdir)
print(f"{val.passed} pass, {val.missed} miss; {val.wall_seconds:.0f} s")
val.targets[["target", "status", "mean", "seed_q025", "seed_q975", "reported", "band_low", "band_high"]]
'''),
    md('''
A target can miss: the 中关村 preset is a set of defaults taken from the reports where they give a
number, not a calibrated model, and a miss says where the model (or the way a reported figure is
translated into model terms) needs work. At this small size, rare events such as unicorns are
also very noisy: compare the interval over seeds (`seed_q025` to `seed_q975`) with the band. The report written with the
validation explains each target and adds realism panels (firm sizes, growth rates, survival,
time to gazelle and unicorn, VC multiples).
'''),
    code('''
t = val.targets.set_index("target")
assert set(t["status"]) <= {"pass", "miss", "n/a"}
assert t.loc["zgc_new_tech_firms_2024", "status"] == "pass", "births are an input: this target must pass"
assert (t["status"] == "pass").sum() == val.passed and (t["status"] == "miss").sum() == val.missed
assert (outdir / "report.md").is_file() and (outdir / "targets.png").is_file()

from IPython.display import Image, display
display(Image(filename=str(outdir / "targets.png")))
'''),
    md('''
## A small calibration

To see how calibration works on a case where we know the answer, we pretend not to know the
number of firms founded per year (`ecosystem.firms.births_per_year`, 110,000 in the preset, taken
from the reports' "约 11 万家") and let the calibration find it from the target
`zgc_new_tech_firms_2024`, starting from a wrong guess of 60,000.

The calibration (method of simulated moments with optuna's TPE sampler) tries parameter values,
runs the model for each, and scores the distance of the simulated values from the reported ones
in units of each target's band (0 inside the reported range). Ten trials of one seed at 1 % scale
take a few seconds each.
'''),
    code('''
cal = calibrate(
    "zhongguancun",
    ["ecosystem.firms.births_per_year=50000:200000:log"],
    ["zgc_new_tech_firms_2024"],
    holdout=[],
    outdir=outdir / "calibration",
    seeds=1,
    n_trials=10,
    scale=0.01,
    overrides=["ecosystem.warmup_years=2"],
    initial={"ecosystem.firms.births_per_year": 60000},
    log=None,
)
best = cal.best_params["ecosystem.firms.births_per_year"]
print(f"loss at the starting guess {cal.initial_loss:.3f}, best loss {cal.best_loss:.4f}: "
      f"births_per_year = {best:,.0f}")
band = registry.get("zgc_new_tech_firms_2024").band
assert cal.best_loss < cal.initial_loss, "the calibration improves on the starting guess"
assert band[0] <= best <= band[1], "and recovers a value inside the reported band"
'''),
    code('''
trials = pd.read_csv(outdir / "calibration" / "trials.csv")
display(Image(filename=str(outdir / "calibration" / "loss.png")))
trials.head(12)
'''),
    md('''
The calibration writes a calibrated preset (`zhongguancun_calibrated.yaml`), a report and the
trials, and can be resumed. A real calibration fits several parameters to several targets and
keeps other targets **held out** (not fitted) to check the result out of sample:
`python -m experiments.calibrate --help`.
'''),
]


NOTEBOOKS = {
    "01_first_run.ipynb": NB01,
    "02_tracks.ipynb": NB02,
    "03_policies.ipynb": NB03,
    "04_validation.ipynb": NB04,
}


def build(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating gives identical files
        cell["id"] = f"cell-{i:02d}"
    return nb


def render(name: str) -> str:
    return nbformat.writes(build(NOTEBOOKS[name])) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        text = render(name)
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python notebooks/make_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

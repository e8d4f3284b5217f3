"""Scoring of the validation (issue 14): band loss, sign-only targets, input checks, the gazelle list's
counterpart, the generated status page, and (slow) the pass counts each preset has reached.

The slow test runs every preset at its own validation settings (full scale) with five seeds (seeds
0-4: China's status is over these, the other presets' over ten) and fails when a preset passes fewer
evidence targets than the count recorded here, the count docs/validation-status.md shows (a realism
regression cannot land silently).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.config import ConfigError
from sim.validation import targets as T
from sim.validation import validate
from sim.validation.calibrate import best_trial_index, loss_of
from sim.validation.registry import (
    Target,
    TargetUnavailable,
    band_distance,
    band_loss_distance,
    load_registry,
)
from sim.validation.report import summarize_targets
from sim.validation.status import GOAL, record_status, render_status, score


def _target(**kw) -> Target:
    base = dict(name="x", description="d", reported={"value": 77}, band=(60.0, 97.0), band_reason="", unit="",
                kind="stock", extensive=False, date=None, presets=("p",), source={}, definition="", function="f")
    return Target(**{**base, **kw})


def test_calibration_loss_is_zero_inside_the_band_and_at_least_one_outside():
    t = _target()
    for v in (60.0, 70.0, 77.0, 97.0):
        assert band_loss_distance(t, v) == 0.0
    assert band_loss_distance(t, 59.0) == pytest.approx(max(1.0, band_distance(t, 59.0)))
    assert band_loss_distance(t, 59.9) >= 1.0 and band_loss_distance(t, 130.0) == pytest.approx(band_distance(t, 130))
    assert math.isnan(band_loss_distance(t, math.nan))
    # two targets, one inside its band anywhere, one just outside: the loss counts only the miss
    u = _target(name="y")
    assert loss_of([t, u], {"x": 61.0, "y": 77.0}) == 0.0
    assert loss_of([t, u], {"x": 59.0, "y": 96.0}) == pytest.approx(band_distance(t, 59.0) ** 2 / 2)


def test_sign_only_target_needs_its_interval_to_exclude_zero():
    t = _target(reported={"value": -0.1}, band=(-1.0, 0.0), sign="negative")
    assert not t.in_band(0.0) and t.in_band(-0.01) and not t.in_band(0.01)

    def status(values):
        df = pd.DataFrame({"seed": range(len(values)), "target": "x", "value": values, "reason": ""})
        return summarize_targets([t], df).iloc[0]["status"]

    assert status([0.0, 0.0, 0.0]) == "miss"  # no change: the old band [-1, 0] passed this
    assert status([-0.05, 0.04, -0.02]) == "miss"  # mean below zero, interval across it
    assert status([-0.05, -0.04, -0.06]) == "pass"
    assert status([-0.05]) == "miss"  # one seed: no interval
    unsigned = _target(reported={"value": -0.1}, band=(-1.0, 0.0))
    df = pd.DataFrame({"seed": [0, 1], "target": "x", "value": [0.0, 0.0], "reason": ""})
    assert summarize_targets([unsigned], df).iloc[0]["status"] == "pass"


def test_registry_reads_sign_and_input_check_and_rejects_bad_ones(tmp_path):
    reg = load_registry()
    assert reg.get("cn_commerce_unicorn_share_falls").sign == "negative"
    checks = {t.name for t in reg.targets.values() if t.input_check}
    assert {"zgc_new_tech_firms_2024", "sv_startups_per_year", "sz_gazelles_cultivated_2019"} <= checks
    text = (
        "targets:\n  - name: bad\n    description: d\n    reported: {value: -0.1}\n    band: [-1.0, 0.5]\n"
        "    band_reason: r\n    unit: u\n    kind: ratio\n    extensive: false\n    date: null\n"
        "    presets: [china]\n    source: {seed: s, digest: d}\n    definition: d\n    function: f\n"
        "    sign: negative\n"
    )
    (tmp_path / "t.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="sign=negative needs a band on that side of zero"):
        load_registry(tmp_path)
    (tmp_path / "t.yaml").write_text(text.replace("[-1.0, 0.5]", "[-1.0, 0.0]").replace("negative", "down"),
                                     encoding="utf-8")
    with pytest.raises(ConfigError, match="sign='down'"):
        load_registry(tmp_path)


def test_gazelles_listed_counts_the_government_list_in_the_window():
    summary = {"start_year": 2014, "years": 6, "scale": 1.0,
               "config": {"ecosystem": {"government": {"gazelle_list": {"quota_per_year": 52.0}}}}}
    gl = pd.DataFrame({"firm_id": np.arange(6), "year": [2014, 2015, 2016, 2017, 2019, 2019]})
    assert T.gazelles_listed_in_window({"gazelle_list": gl}, summary, first_year=2016, last_year=2019) == 4.0
    off = {**summary, "config": {"ecosystem": {"government": {"gazelle_list": {"quota_per_year": 0.0}}}}}
    with pytest.raises(TargetUnavailable, match="keeps no gazelle list"):
        T.gazelles_listed_in_window({"gazelle_list": gl.iloc[:0]}, off, first_year=2016, last_year=2019)
    with pytest.raises(TargetUnavailable, match="outside the observed window"):
        T.gazelles_listed_in_window({"gazelle_list": gl}, summary, first_year=2012, last_year=2019)


def test_status_page_scores_evidence_targets_only(tmp_path):
    rows = pd.DataFrame({
        "target": ["a", "b", "c"], "description": "", "date": "2019", "unit": "firms", "reported": "1",
        "band_low": 0.0, "band_high": 2.0, "sign": ["", "", "negative"], "input_check": [True, False, False],
        "seeds": 5, "values": 5, "mean": [1.0, 3.0, -0.5], "seed_q025": 0.0, "seed_q975": 1.0,
        "mean_ci_low": 0.0, "mean_ci_high": 1.0, "status": ["pass", "miss", "pass"], "reason": "",
    })
    assert score(rows) == (1, 2)
    record_status("p", rows, scale=1.0, seeds=[0, 1, 2, 3, 4], directory=tmp_path, when="2025-01-01")
    page = render_status(tmp_path)
    assert "| p | 1 | 5 | 1 / 2 (50%) | no | 2025-01-01 |" in page
    assert "`a` (input check)" in page and "`c` (sign-only (negative))" in page and "**miss**" in page
    assert f"{GOAL:.0%}" in page


# Evidence targets passing per preset with seeds 0-2 at the preset's own settings (docs/validation-status.md
# records the same presets with five seeds). Raise a count when the model reaches more; never lower one
# without saying why in the commit and in docs/calibration/<preset>.md.
# Measured with seeds 0-2 (docs/calibration/<preset>.md says what misses and why): 中关村 1 of 3 (new unicorns;
# the 2019 stock and the high-tech-enterprise proxy miss; at seeds 0-2 the stock passes, 62.7, but not over ten
# seeds, 58.9), 深圳高新区 1 of 2 (unicorns; the gazelle share misses), Israel 1 of 1.
# Lowered on 2026-12-04: China 9 -> 7, and Silicon Valley (1) left out, its one target missing (a count
# of 0 would be a check that cannot fail; add it back at 1 when its target passes again). Two defect fixes
# of that day give every preset more venture money for new firms: VC funds draw their follow-ons from their
# reserve (before, that money also came out of what they could invest in new firms), and the commitments are
# raised in full (FundCycle.lp_carry; after the warm-up ramp the managers due could not take them, and the
# rest was lost). With them Silicon Valley makes 24.3 new unicorns in 2017 at seeds 0-2 (23.7 over ten; band
# 6-20) and China 65.3 in 2019 (band 33-65), and China's industry tracks grow by 7.7 (band from 8). The
# presets were calibrated with the defects; their recalibration is issue 14's
# (docs/calibration/silicon_valley.md, china.md). Raise the counts back when it lands.
# Raised on 2026-12-04: China 7 -> 13 (seeds 0-2; five seeds also 13 of 16), after the track shakeout and the
# fit of the track rates to the ten track targets (docs/calibration/china.md); it misses the new unicorns of
# 2019 (70.7, band 33-65) and the society tracks (+5.0, band to 3).
# Raised on 2026-12-04 (evening): 深圳高新区 1 -> 2 (seeds 0-2: gazelle share 0.0266, unicorns 9.0) and Silicon
# Valley back at 1 (14.3 at seeds 0-2), after a self-financing firm's cash stopped buying growth and the Shenzhen
# preset began to keep the zone's firms of every age (docs/calibration/shenzhen_htz.md, silicon_valley.md).
# China passes 14 of 16 over five seeds but stays at 13 here: at seeds 0-2 its unicorn stock of 2020 is 170.3,
# at the band's edge (170), so a count of 14 would turn on a fraction of a unicorn (docs/calibration/china.md).
# Changed on 2026-12-05, when the venture market's money came through the year and a round began to need its
# money (docs/calibration/zhongguancun.md, "Money through the year, and a price needs money"): 中关村 1 -> 2
# (seeds 0-2: unicorn stock 2019 63.0, new unicorns 2024 15.3; ten seeds 60.2 and 16.5, both in their bands,
# the stock at the lower edge); China 13 -> 12: its unicorn stock of 2020 falls below its band (seeds 0-2:
# 155.3; five seeds 157.2, band from 170), since China's late rounds are now bound by the growth money of its
# funds, and at seeds 0-2 the livelihood tracks miss (+4.0, band to 3; five seeds +2.2, a pass). Silicon
# Valley's pricing was refitted (docs/calibration/silicon_valley.md: 18.0 at seeds 0-2).
# Changed on 2026-12-05 (afternoon), when a founder-owned firm that nearly pays its way began to trim its
# staff instead of failing and the closure hazard took its long-run level from firm demography and fell with
# size (docs/calibration/zhongguancun.md, "Firm demography"): the gate runs five seeds instead of three (the
# status page's counts, which its docstring said it checked, are over five or ten). At seeds 0-2 中关村's new
# unicorns of 2024 are the three lowest of ten worlds (11, 13, 12; band from 13; ten seeds 15.9, five 14.8), so a
# three-seed count would have recorded 1 for a preset whose status is 2 of 3 before and after the change
# (ten seeds: stock 2019 60.2 -> 63.6, new unicorns 16.5 -> 15.9). China 12 -> 14: its unicorn stock of
# 2020 is back in its band (five seeds 185.6, band from 170; 157.2 before); it misses the society tracks.
# Kept on 2026-12-05 (evening), when early-stage funds stopped putting new money into rounds C and later and
# 中关村's venture market was refitted (docs/calibration/zhongguancun.md, "Early-stage funds stay early"):
# seeds 0-4 give 中关村 stock 2019 88.4 and new unicorns 2024 22.8 (HTE misses), 深圳 unicorns 7.2 (band from
# 5), Silicon Valley 12.0, China 14 of 16 (new 2019 55.6, stock 2020 264).
# Raised on 2026-12-05 (late): 中关村 2 -> 3, when only a share of firms began to do R&D (rd.performer_share
# 0.35; docs/calibration/zhongguancun.md, "Firms that do no R&D"): seeds 0-4 give new high-tech enterprises
# of 2024 1,845 (band 1,000-2,100; 5,315 before over ten seeds), stock 2019 88.8, new unicorns 2024 26.4;
# 深圳 unicorns 7.8, Silicon Valley 13.0, China 14 of 16 (new 2019 61.0, stock 2020 261).
COMMITTED = {
    "zhongguancun": 3,
    "shenzhen_htz": 2,
    "silicon_valley": 1,
    "israel": 1,
    "china": 14,
}


#: seeds of the gate (0-4); docs/validation-status.md has China over these five, the other presets over ten
GATE_SEEDS = 5

#: presets whose gate runs in the long tier (make test-long): China's three national runs are a minute each,
#: the longest single check of the suite (197 s of CPU), beyond CI's 20 minutes (docs/testing.md, Tiers)
LONG = {"china"}


@pytest.mark.slow
@pytest.mark.parametrize("preset", [pytest.param(p, marks=[pytest.mark.long] if p in LONG else [])
                                    for p in sorted(COMMITTED)])
def test_preset_passes_its_committed_number_of_evidence_targets(preset):
    res = validate(preset, seeds=GATE_SEEDS, n_jobs=1, progress=False)
    assert res.evidence_passed >= COMMITTED[preset], res.targets[["target", "mean", "status"]].to_string()


def test_best_trial_among_ties_is_the_one_furthest_inside_its_bands():
    t = _target(name="x")  # reported 77, band 60-97
    trials = pd.DataFrame({"loss": [0.0, 0.0, 0.0, 2.0], "value:x": [60.0, 70.0, 95.0, 40.0]}, index=[3, 5, 8, 9])
    assert best_trial_index(trials, [t]) == 5  # margins 0, 0.5, 0.1: trial 5
    assert best_trial_index(trials.assign(loss=[1.0, 0.5, 0.7, 2.0]), [t]) == 5  # no tie: the lowest loss

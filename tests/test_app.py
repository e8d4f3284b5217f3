"""The interactive view (sim/app.py): the model behind it, and the app driven in a real browser.

The browser test starts ``python -m sim.app`` on 127.0.0.1 (a free port) in a subprocess, drives
it with Playwright in Debian's Chromium (``/usr/bin/chromium``; no browser is downloaded), steps
the model, checks that the status line and the plots change, switches a policy on, and saves a
screenshot to ``tests/artifacts/app.png`` for people to look at. The page's Chinese text must be
drawn with the font the app serves (sim/fonts.py): a bare machine's browser has none. ``make test`` installs what it
needs: the ``viz`` extra (solara, solara-assets, playwright) and, when it is missing, Chromium
(``apt-get install chromium``).
"""

from __future__ import annotations

import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sim import app
from sim.app import POLICY_PREFIX, TeachingModel, model_params, policy_choices
from sim.core.vocabulary import DIRECTION_EN, DIRECTIONS, NEVER
from sim.policies.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 180  # solara imports and the first model; generous for a busy 2-core machine


# ------------------------------------------------------------------------- the model behind the view


def test_teaching_model_records_each_observed_month():
    m = TeachingModel(scale=0.01, seed=3, years=1, warmup_years=1)
    # the warm-up and the first observed month run at once; Mesa's clock counts months after that
    assert m.current_step == 1 and m.time == 0 and len(m.recorder.timeseries) == 1
    for _ in range(5):
        m.step()
    assert m.time == 5 and m.current_step == 6
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == len(m.recorder.timeseries) == 6
    for i, row in enumerate(m.recorder.timeseries):  # DataCollector row i is the model's record of step i
        assert row["step"] == i
        for s in ("startups", "gazelles", "unicorns"):
            assert df[s].iloc[i] == row[s]
        for d in DIRECTIONS:
            en = DIRECTION_EN[d]
            assert df[en].iloc[i] == row[f"main_tracks_{en}"] + row[f"new_tracks_{en}"]
    # unicorns by track: the per-track counter, largest first, matching the firms ever unicorns
    rows = m.unicorns_by_track()
    assert [c for _, c in rows] == sorted((c for _, c in rows), reverse=True)
    ever = m.population.records["unicorn_step"][: m.population.n_ever] != NEVER
    assert sum(c for _, c in rows) == int(ever.sum())
    while m.running:
        m.step()
    assert len(m.recorder.timeseries) == 12 and m.month_label() == f"{m.start_year}-12"
    m.step()  # past the end: nothing happens
    assert len(m.recorder.timeseries) == 12


def test_teaching_model_parameters_reach_the_configuration():
    m = TeachingModel(scale=0.01, seed=5, years=2, warmup_years=0, births_per_year=50_000.0, vc_commitments=10_000.0,
                      gazelle_definition="tiered_cn", **{POLICY_PREFIX + "entry_subsidy": True})
    c = m.cfg
    assert (c.scale, c.seed, c.years, c.ecosystem.warmup_years) == (0.01, 5, 2, 0)
    assert c.ecosystem.firms.births_per_year == 50_000.0 and c.ecosystem.vc.commitments_mcny_per_year == 10_000.0
    assert c.stages.gazelle_definition == "tiered_cn"
    assert m.policy_names == ["entry_subsidy"] and [p.name for p in m.government.policies] == ["entry_subsidy"]
    assert m.message == ""
    # every control of the sidebar is a parameter of the model
    params = model_params()
    assert {k for k in params if k.startswith(POLICY_PREFIX)} == {POLICY_PREFIX + n for n in policy_choices()}
    named = set(inspect.signature(TeachingModel.__init__).parameters)
    assert {k for k in params if not k.startswith(POLICY_PREFIX)} <= named


def test_policy_labels_come_from_the_policy_classes(tmp_path, monkeypatch):
    labels = policy_choices()
    assert labels["guidance_fund"] == REGISTRY["guidance_fund"].title() == "Government guidance fund (引导基金)"
    assert labels["local_patience"] == REGISTRY["track_cultivation"].title()  # a configuration of another kind
    # a user's own file, not generated from the code: its kind's class names it
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "my_grants.yaml").write_text("my_grants:\n  kind: rd_grants\n  budget_mcny_per_year: 10\n")
    monkeypatch.setattr(app, "conf_dir", lambda: tmp_path)
    monkeypatch.setattr(app, "presets", lambda group: ["my_grants"])
    policy_choices.cache_clear()
    try:
        assert policy_choices() == {"my_grants": "Matched R&D grants (OCS style)"}
    finally:
        policy_choices.cache_clear()


def test_teaching_model_leaves_out_policies_that_cannot_be_combined():
    m = TeachingModel(scale=0.01, years=1, warmup_years=0,
                      **{POLICY_PREFIX + "sanctions_shock": True, POLICY_PREFIX + "targeted_support": True})
    assert m.policy_names == [] and m.government.policies == []
    assert m.message.startswith("Policies left out: ") and "\n" not in m.message
    with pytest.raises(TypeError, match="policy_no_such_thing"):
        TeachingModel(policy_no_such_thing=True)


# ------------------------------------------------------------------------- the app in a browser


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_server(tmp_path):
    port = _free_port()
    log = tmp_path / "app_server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim.app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail("the app server exited with status "
                            f"{proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app server did not answer within {SERVER_START_SECONDS} "
                            f"s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group (start_new_session)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)


_DIGEST_JS = """async (img) => {
    const data = await (await fetch(img.src)).arrayBuffer();
    const hash = await crypto.subtle.digest('SHA-256', data);
    return Array.from(new Uint8Array(hash)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def _plot_digests(page) -> list[str]:
    """SHA-256 of each plot image's bytes (solara shows matplotlib figures as blob: images)."""
    imgs = page.locator("img[src^='blob:'], img[src^='data:image']")
    return [imgs.nth(i).evaluate(_DIGEST_JS) for i in range(imgs.count())]


# the font faces of the page that carry Chinese (sim.fonts.browser_css), once every pending load is done
_CJK_FACES_JS = """async () => {
    await document.fonts.ready;
    return [...document.fonts]
        .filter(f => f.family.replace(/["']/g, '') === 'Noto Sans SC'
                  || f.unicodeRange.toUpperCase().includes('U+3200'))
        .map(f => `${f.family.replace(/["']/g, '')}: ${f.status}`);
}"""


def _status(page) -> str:
    return page.locator("p.sim-status").inner_text()


@pytest.mark.slow
def test_app_in_headless_chromium(app_server):
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; make test does it when run as "
        "root)"
    )
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - the test extra's browser driver

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "app.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(app_server, timeout=120_000)
            page.get_by_text("Month 1 of 120").wait_for(timeout=120_000)
            expect(page.get_by_text("Policies: none (baseline)")).to_be_visible()
            # the status line's Chinese (创业企业, 瞪羚, ...) is drawn with the served font, not boxes
            faces = page.evaluate(_CJK_FACES_JS)
            assert any(f.endswith(": loaded") for f in faces), f"no Chinese font face loaded in the page: {faces}"
            font_url = f"{app_server}static/assets/NotoSansSC-Regular.otf"
            assert page.evaluate("async (u) => (await fetch(u)).ok", font_url), f"{font_url} is not served"
            # three plots: the funnel, unicorns by track, tracks per direction
            expect(page.locator("img[src^='blob:'], img[src^='data:image']")).to_have_count(3, timeout=60_000)
            before_text, before = _status(page), _plot_digests(page)
            assert len(before) == 3 and all(before)

            step = page.get_by_role("button", name=re.compile("^step$", re.I))
            for month in (2, 3, 4):
                step.click()
                page.get_by_text(f"Month {month} of 120").wait_for(timeout=60_000)
            # the plots are redrawn from the new months: the funnel and the direction plot change
            deadline = time.monotonic() + 30
            while True:
                after = _plot_digests(page)
                changed = [a != b for a, b in zip(after, before, strict=False)]
                if sum(changed) >= 2 or time.monotonic() > deadline:
                    break
                page.wait_for_timeout(500)
            after_text = _status(page)
            assert after_text != before_text and "(2015-04)" in after_text
            assert sum(changed) >= 2, f"the plots did not change after 3 steps: {changed}"

            # switch a policy on, press Reset: a new model with the policy, back to the first month
            page.get_by_text(re.compile(r"\[entry_subsidy\]")).click()  # the label: vuetify covers the box itself
            expect(page.get_by_label(re.compile(r"\[entry_subsidy\]"))).to_be_checked()
            page.get_by_role("button", name=re.compile("^reset$", re.I)).click()
            page.get_by_text(re.compile("Policies: entry_subsidy")).wait_for(timeout=60_000)
            expect(page.get_by_text("Month 1 of 120")).to_be_visible()
            step.click()
            page.get_by_text("Month 2 of 120").wait_for(timeout=60_000)
            spent = re.search(r"public spending this month ([0-9.]+) mcny", _status(page))
            assert spent and float(spent.group(1)) > 0, _status(page)

            # play a year so the screenshot shows some history, then pause
            t0 = time.monotonic()
            page.get_by_role("button", name="▶").click()
            page.get_by_text(re.compile(r"Month 1[4-9] of 120|Month [2-9]\d of 120")).wait_for(timeout=180_000)
            page.get_by_role("button", name="❚❚").click()
            print(f"played {_status(page).splitlines()[0]} in {time.monotonic() - t0:.1f} s")
            page.wait_for_timeout(1500)  # the last redraw
            page.screenshot(path=str(shot), full_page=False)
            assert not errors, f"errors in the page: {errors}"
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000

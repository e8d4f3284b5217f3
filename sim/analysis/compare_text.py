"""The reports of a policy comparison, for decision makers: ``report.md`` (English) and ``report.zh.md`` (Chinese).

Both are made from the written tables only (:func:`sim.analysis.compare_report.read_comparison`)
and say the same things: every count and amount is scaled to the size of the real park (the
simulation's numbers divided by its ``scale``) and given per year where it is money; policies
are named in words; money is given in 万元/亿元 and in million CNY; one paragraph says what
the numbers can and cannot say; every effect comes with its 95 % interval, the number of
simulated worlds that would tell it from zero, and, where the interval allows, the cost per
additional gazelle and unicorn (else the reason).
"""

from __future__ import annotations

import math

import numpy as np

from sim.analysis.compare_report import Comparison, interval, money, number, policy_names, read_comparison

__all__ = ["render_report", "TEXT"]

#: The reports' phrases, English and Chinese, with str.format fields.
TEXT = {
    "en": {
        "title": "# Policy comparison",
        "setup": "*{n_arms} {arms_word} compared with doing nothing in the same {n} simulated worlds, over {years} "
                 "observed years ({first}–{last}), in a park like {ecosystem} {size}.*",
        "size_full": "simulated at its full size: every count and amount below is the park's own",
        "size_sampled": "simulated at {scale:g} of its size. Every count and amount below is scaled to the size of "
                        "the real park (divided by {scale:g})",
        "can_title": "## What these numbers can and cannot say",
        "can": "They can say how, in this model, each policy changes the park compared with doing nothing in the same "
               "simulated worlds, and how sure that is: each range holds the effect with 95 % probability, given the "
               "model. They cannot say how large the effects would be in a real park: the model's parameters are "
               "taken from the reports where these give a number and are assumptions elsewhere, and no policy was "
               "calibrated against a real programme; {rare_clause}; effects that take longer than the {years} "
               "observed years are not counted; costs are public spending only. A range that includes zero means "
               "\"not shown with this many worlds\", not \"no effect\".",
        "rare_full": "rare events (unicorns) are few even in the whole park, so their effects are noisy",
        "rare_sampled": "the park was simulated at {scale:g} of its size and scaled up, so rare events (unicorns) are "
                        "few and noisy and costs of indivisible items (a scene, a fund) may be off",
        "summary_title": "## Summary",
        "summary_intro": "Effects over the {years} years (policy minus baseline, mean over the worlds, 95 % range in "
                         "brackets). Spending is public money per year.",
        "cols": ["Policy", "Public spending per year", "Extra gazelles", "Extra unicorns", "Cost per extra gazelle",
                 "Cost per extra unicorn"],
        "cols_budget": ["Extra gazelles per 100 million CNY", "Extra unicorns per 100 million CNY"],
        "no_cost": {"no_spending": "no public money spent", "not_significant": "not estimable: range includes zero",
                    "fewer": "not defined: fewer than without the policy", "too_few_seeds": "n/a (one world)"},
        "budget": "Equal budgets: every policy was scaled to {budget} a year (its budget, capacities and fund size "
                  "multiplied by one factor each), so the effects are comparable per 100 million CNY.",
        "worlds_title": "## Enough worlds?",
        "worlds_intro": "How many simulated worlds it would take to tell each effect from zero, if it is as large as "
                        "observed and varies as much ({n} were run):",
        "worlds_line": "- {policy}: gazelles {g}; unicorns {u}.",
        "needed": "about {k:,.0f}",
        "needed_done": "{k:,.0f} (already shown)",
        "needed_none": "no effect observed",
        "rare": "The simulated park has only {b:.1f} new {what} per world on average: too few events for these "
                "numbers to be more than a rough guide; a larger park (a higher scale) gives more events per world.",
        "target_met": "The comparison added worlds until every range was at most ±{targets} wide: reached with {n}.",
        "target_cap": "The comparison added worlds to narrow the ranges to ±{targets}, up to the cap of {cap}; it "
                      "stopped at {n} without reaching every target.",
        "policy_title": "## Policy by policy",
        "what": "- What it does: {doc}",
        "acts_on": "  Acts directly on: {target}.",
        "spent": "- Public money: {spent} a year spent, {received} a year came back, net {net} a year.",
        "scaled": "- Scaled to the equal budget by a factor of {k:.3g}.",
        "not_scaled": "- Not scaled to the equal budget: {note}.",
        "effect": "- {what}: {value}{unit}; {verdict}.",
        "more": "more than without the policy",
        "fewer": "fewer than without the policy",
        "unclear": "no difference distinguishable from chance",
        "one": "no range (one world)",
        "split": "- Direct and spill-over effects on {what}: {direct} among the {reached} firms the policy reached "
                 "directly, {spill} among all other firms (together {total}).",
        "split_na": "- Direct and spill-over effects: not separable: {reason}.",
        "timeline": "- Over time: the extra {what} add up to {value} by {year}; the yearly effect is first clearly "
                    "above zero in {first}.",
        "timeline_none": "- Over time: the yearly effect on {what} is not clearly different from zero in any year.",
        "cost": "- Cost per additional {what}: {cost} (range {lo} to {hi}).",
        "cost_na": "- Cost per additional {what}: {reason}.",
        "caveats_title": "## Caveats",
        "caveats": [
            "This is a model, not a forecast (see the first section).",
            "Many policies and outcomes are compared at once: among many ranges, some exclude zero by chance alone.",
            "Receipts count only money back within the window; a guidance fund's unrealised holdings are not counted.",
            "The cost per additional firm divides the average net public cost by the average gain; its range comes "
            "from the gain's range only. Administrative costs and the private money a policy draws in are not "
            "included.",
            "An arm with several policies shows them together; its effect need not be the sum of their separate "
            "effects.",
        ],
        "files": "Files: outcomes.parquet (one row per policy and world), differences.parquet, costs.parquet, "
                 "timeline.parquet, split.parquet, comparison.json; docs/outputs.md describes every column. Run time "
                 "{wall:.0f} s.",
        "names": {"new_gazelles": "gazelles", "new_unicorns": "unicorns"},
        "one_name": {"gazelle": "gazelle", "unicorn": "unicorn"},
        "outcomes": {"new_gazelles": "New gazelles (瞪羚)", "new_unicorns": "New unicorns (独角兽)",
                     "survival_rate": "Firms founded in the window still alive at its end",
                     "jobs": "Jobs at the end of the window", "vc_invested": "VC invested",
                     "firms_born": "Firms founded", "exits": "Exits (IPO, acquisition)",
                     "tracks_formed": "Tracks formed (first unicorn)"},
        "units": {"pp": " percentage points", "mcny": " million CNY", "firms": "", "persons": "", "tracks": ""},
    },
    "zh": {
        "title": "# 政策比较",
        "setup": "*在相同的 {n} 个模拟世界中，将 {n_arms} 项政策与“不施策”对比，观察期 {years} 年（{first}–{last}），园"
                 "区以 {ecosystem} 为原型，{size}。*",
        "size_full": "按其完整规模模拟：下文所有数量与金额即园区本身的数字",
        "size_sampled": "按其规模的 {scale:g} 倍模拟。下文所有数量与金额均已换算为真实园区规模（除以 {scale:g}）",
        "can_title": "## 这些数字能说明什么、不能说明什么",
        "can": "它们能说明：在本模型中，与同一模拟世界里的“不施策”相比，每项政策如何改变园区，以及这一结论有多可靠——每"
               "个区间以 95% "
               "的概率包含（模型意义上的）真实效果。它们不能说明：这些效果在真实园区中会有多大。模型参数凡报告给出数字"
               "者取自报告，其余为假设，且没有任何政策按真实项目校准；{rare_clause}；超过 {years} "
               "年观察期才显现的效果未计入；成本只计公共财政支出。区间包含零表示“在当前模拟世界数量下尚未显示出效果”，"
               "而不是“没有效果”。",
        "rare_full": "即使在整个园区中，独角兽这类稀有事件也很少，其效果波动大",
        "rare_sampled": "园区按 {scale:g} 倍规模模拟后再放大，因此独角兽这类稀有事件数量少、波动大，"
                        "不可分割事项（一个场景、一支基金）的成本可能失真",
        "summary_title": "## 概要",
        "summary_intro": "{years} 年内的效果（政策减基准，各模拟世界平均，括号内为 95% 区间）。"
                         "支出为每年公共财政支出。",
        "cols": ["政策", "每年公共支出", "新增瞪羚", "新增独角兽", "每多一家瞪羚的成本", "每多一家独角兽的成本"],
        "cols_budget": ["每亿元新增瞪羚", "每亿元新增独角兽"],
        "no_cost": {"no_spending": "无公共支出", "not_significant": "无法估计：区间包含零",
                    "fewer": "无定义：少于不施策", "too_few_seeds": "无法给出（仅一个世界）"},
        "budget": "等预算比较：每项政策都按每年 {budget} 调整规模（其预算、容量与基金规模各乘以同一系数），因此效果可按"
                  "每亿元比较。",
        "worlds_title": "## 模拟世界够不够？",
        "worlds_intro": "若效果与观察到的一样大、波动也一样，需要多少个模拟世界才能把效果与零区分开（本次运行 {n} 个）"
                        "：",
        "worlds_line": "- {policy}：瞪羚 {g}；独角兽 {u}。",
        "needed": "约 {k:,.0f} 个",
        "needed_done": "{k:,.0f} 个（已显示出效果）",
        "needed_none": "未观察到效果",
        "rare": "模拟园区平均每个世界只有 {b:.1f} 家新增{what}：事件太少，上述世界数只能作粗略参考；"
                "更大的园区（更高的 scale）能让每个世界出现更多事件。",
        "target_met": "本次比较逐步增加模拟世界，直到每个区间的半宽不超过 ±{targets}：在 {n} 个世界时达到。",
        "target_cap": "本次比较逐步增加模拟世界，以使区间半宽达到 ±{targets}，上限为 {cap} 个；停在 {n} 个，未能全部达"
                      "到。",
        "policy_title": "## 逐项政策",
        "what": "- 政策内容：{doc}",
        "acts_on": "  直接作用于：{target}。",
        "spent": "- 公共资金：每年支出 {spent}，每年回收 {received}，每年净支出 {net}。",
        "scaled": "- 为等预算比较，按系数 {k:.3g} 调整了规模。",
        "not_scaled": "- 未按等预算调整：{note}。",
        "effect": "- {what}：{value}{unit}；{verdict}。",
        "more": "多于不施策",
        "fewer": "少于不施策",
        "unclear": "与随机波动无法区分",
        "one": "无区间（仅一个世界）",
        "split": "- {what}的直接效果与溢出效果：政策直接惠及的 {reached} 家企业中 {direct}，其他所有企业中 {spill}（合"
                 "计 {total}）。",
        "split_na": "- 直接效果与溢出效果：无法区分：{reason}。",
        "timeline": "- 随时间：新增{what}累计到 {year} 年为 {value}；年度效果首次明显大于零是在 {first} 年。",
        "timeline_none": "- 随时间：对{what}的年度效果在任何一年都与零无明显差异。",
        "cost": "- 每多一家{what}的成本：{cost}（区间 {lo} 至 {hi}）。",
        "cost_na": "- 每多一家{what}的成本：{reason}。",
        "caveats_title": "## 注意事项",
        "caveats": [
            "这是模型，不是预测（见第一节）。",
            "同时比较了许多政策和结果：在众多区间中，总有一些仅因偶然而不含零。",
            "回收资金只计观察期内收回的部分；引导基金尚未退出的持股未计入。",
            "每多一家企业的成本 = 平均公共净支出 ÷ 平均新增数量；其区间只反映新增数量的不确定性。未计行政成本，也未计政"
            "策撬动的社会资本。",
            "含多项政策的组合一并显示其效果，不一定等于各项政策单独效果之和。",
        ],
        "files": "文件：outcomes.parquet（每项政策、每个世界一行）、differences.parquet、costs.parquet、timeline.parque"
                 "t、split.parquet、comparison.json；各列含义及单位见 "
                 "docs/outputs.md。运行时间 {wall:.0f} 秒。",
        "names": {"new_gazelles": "瞪羚", "new_unicorns": "独角兽"},
        "one_name": {"gazelle": "瞪羚企业", "unicorn": "独角兽企业"},
        "outcomes": {"new_gazelles": "新增瞪羚企业", "new_unicorns": "新增独角兽企业",
                     "survival_rate": "观察期内新设企业到期末仍存活的比例", "jobs": "期末就业人数",
                     "vc_invested": "风险投资金额", "firms_born": "新设企业数", "exits": "退出（上市、并购）",
                     "tracks_formed": "形成的赛道（首个独角兽）"},
        "units": {"pp": " 个百分点", "mcny": " 百万元", "firms": " 家", "persons": " 人", "tracks": " 条"},
    },
}
#: Fewer events than this per world in the simulated park, and the report says its counts are a rough guide.
RARE_EVENTS = 10
#: Ecosystem presets in words.
ECOSYSTEMS = {"zhongguancun": "中关村", "shenzhen_htz": "深圳高新区", "silicon_valley": "硅谷", "israel": "以色列",
              "china": "全国"}
#: Outcomes listed for every policy in the report, and how each is scaled to the real park.
REPORT_OUTCOMES = ("new_gazelles", "new_unicorns", "survival_rate", "jobs", "vc_invested", "firms_born", "exits",
                   "tracks_formed")


def _rows(comp: Comparison, arm: str, outcome: str):
    d = comp.differences
    return d[(d["arm"] == arm) & (d["outcome"] == outcome)].iloc[0]


def _scaled(row, scale: float, outcome: str) -> tuple[float, float, float]:
    k = 100.0 if outcome == "survival_rate" else 1.0 / scale
    return row["diff_mean"] * k, row["ci_low"] * k, row["ci_high"] * k


def _verdict(row, t: dict) -> str:
    if not np.isfinite(row["ci_low"]):
        return t["one"]
    if row["ci_low"] > 0:
        return t["more"]
    if row["ci_high"] < 0:
        return t["fewer"]
    return t["unclear"]


def _cost_cell(cost_row, what: str, lang: str) -> str:
    t = TEXT[lang]
    status = cost_row[f"cost_per_{what}_status"]
    if status == "ok":
        return money(cost_row[f"cost_per_{what}"], lang)
    return t["no_cost"].get(status, status)


def _summary(comp: Comparison, lang: str, arms: dict) -> list[str]:
    t, s = TEXT[lang], comp.setup
    scale, years = float(s["scale"]), int(s["years"])
    budget = s.get("budget_mcny") is not None
    cols = t["cols"] + (t["cols_budget"] if budget else [])
    lines = [t["summary_title"], "", t["summary_intro"].format(years=years), ""]
    if budget:
        lines += [t["budget"].format(budget=money(s["budget_mcny"], lang)), ""]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, c in comp.costs.iterrows():
        cells = [policy_names(arms[c["arm"]], lang), money(c["spending_per_year_full_scale"], lang)]
        for what in ("gazelle", "unicorn"):
            mean, lo, hi = _scaled(_rows(comp, c["arm"], f"new_{what}s"), scale, f"new_{what}s")
            cells.append(interval(mean, lo, hi, 1, lang))
        cells += [_cost_cell(c, "gazelle", lang), _cost_cell(c, "unicorn", lang)]
        if budget:
            for what in ("gazelle", "unicorn"):
                cells.append(interval(c[f"additional_{what}s_per_100mcny"] / scale,
                                      c[f"additional_{what}s_per_100mcny_low"] / scale,
                                      c[f"additional_{what}s_per_100mcny_high"] / scale, 2, lang))
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _needed(row, t: dict) -> str:
    k = row["seeds_needed"]
    if not np.isfinite(k):
        return t["needed_none"]
    return (t["needed_done"] if row["significant"] else t["needed"]).format(k=k)


def _worlds(comp: Comparison, lang: str, arms: dict) -> list[str]:
    t, s = TEXT[lang], comp.setup
    n = len(s["seeds"])
    lines = [t["worlds_title"], "", t["worlds_intro"].format(n=n), ""]
    for arm in comp.costs["arm"]:
        lines.append(t["worlds_line"].format(policy=policy_names(arms[arm], lang),
                                             g=_needed(_rows(comp, arm, "new_gazelles"), t),
                                             u=_needed(_rows(comp, arm, "new_unicorns"), t)))
    for name in ("new_gazelles", "new_unicorns"):
        events = comp.differences.loc[comp.differences["outcome"] == name, "baseline_mean"]
        if len(events) and events.iloc[0] < RARE_EVENTS:
            lines += ["", t["rare"].format(b=events.iloc[0], what=t["names"][name])]
    if s.get("target_halfwidth"):
        targets = ", ".join(f"{k} {v}" for k, v in s["target_halfwidth"].items())
        key = "target_met" if s.get("targets_met") else "target_cap"
        lines += ["", t[key].format(targets=targets, n=n, cap=s.get("max_seeds"))]
    return lines + [""]


def _policy_lines(comp: Comparison, lang: str, arm: dict) -> list[str]:
    t, s = TEXT[lang], comp.setup
    scale, years = float(s["scale"]), int(s["years"])
    label = arm["label"]
    c = comp.costs.set_index("arm").loc[label]
    lines = [f"### {policy_names(arm, lang)} (`{label}`)", ""]
    for p in arm["policies"]:
        if lang == "en":
            lines.append(t["what"].format(doc=p["description"] or p.get("doc") or p["title"]))
            lines.append(t["acts_on"].format(target=p["target"]))
    per_year = 1.0 / years / scale
    lines.append(t["spent"].format(spent=money(c["public_spending"] * per_year, lang),
                                   received=money(c["public_receipts"] * per_year, lang),
                                   net=money(c["net_public_cost"] * per_year, lang)))
    if arm.get("scaled") is not None:
        lines.append(t["scaled"].format(k=arm["scaled"]))
    elif arm.get("note") and s.get("budget_mcny") is not None:
        lines.append(t["not_scaled"].format(note=arm["note"]))
    for name in REPORT_OUTCOMES:
        r = _rows(comp, label, name)
        mean, lo, hi = _scaled(r, scale, name)
        unit = "pp" if name == "survival_rate" else OUTCOMES_UNIT.get(name, "")
        value = interval(mean, lo, hi, 2 if name == "new_unicorns" else 1, lang)
        lines.append(t["effect"].format(what=t["outcomes"][name], value=value, unit=t["units"].get(unit, ""),
                                        verdict=_verdict(r, t)))
    lines += _split_lines(comp, lang, label, scale)
    lines += _timeline_lines(comp, lang, label, scale)
    for what in ("gazelle", "unicorn"):
        word = t["one_name"][what]
        if c[f"cost_per_{what}_status"] == "ok":
            lines.append(t["cost"].format(what=word, cost=money(c[f"cost_per_{what}"], lang),
                                          lo=money(c[f"cost_per_{what}_low"], lang),
                                          hi=money(c[f"cost_per_{what}_high"], lang)))
        else:
            reason = c[f"cost_per_{what}_reason"] if lang == "en" else _cost_cell(c, what, lang)
            lines.append(t["cost_na"].format(what=word, reason=reason))
    return lines + [""]


OUTCOMES_UNIT = {"vc_invested": "mcny", "jobs": "persons", "new_gazelles": "firms", "new_unicorns": "firms",
                 "firms_born": "firms", "exits": "firms", "tracks_formed": "tracks"}


def _split_lines(comp: Comparison, lang: str, arm: str, scale: float) -> list[str]:
    t = TEXT[lang]
    if comp.split.empty:
        return []
    s = comp.split[comp.split["arm"] == arm]
    if s.empty:
        return []
    if s["reason"].iloc[0]:
        reason = s["reason"].iloc[0] if lang == "en" else _ZH_SPLIT_REASON.get(s["reason"].iloc[0], s["reason"].iloc[0])
        return [t["split_na"].format(reason=reason)]
    out = []
    for name in ("new_gazelles", "new_unicorns"):
        parts = {r["part"]: r for _, r in s[s["outcome"] == name].iterrows()}
        d, sp = parts["direct"], parts["spillover"]
        total = _rows(comp, arm, name)
        out.append(t["split"].format(
            what=t["names"][name], reached=number(d["firms_reached"] / scale, 0),
            direct=interval(d["diff_mean"] / scale, d["ci_low"] / scale, d["ci_high"] / scale, 1, lang),
            spill=interval(sp["diff_mean"] / scale, sp["ci_low"] / scale, sp["ci_high"] / scale, 1, lang),
            total=number(total["diff_mean"] / scale, 1, sign=True)))
    return out


_ZH_SPLIT_REASON = {
    "the policy changes which firms are founded, so a firm cannot be followed from the baseline world to the policy "
    "world": "该政策改变了哪些企业得以创立，无法在基准世界与政策世界之间逐一追踪同一家企业",
    "the policy reached no firm individually (it acts through market-wide levers)":
        "该政策未直接惠及任何单个企业（它通过全市场的杠杆起作用）",
    "no paired runs": "没有配对的运行",
}


def _timeline_lines(comp: Comparison, lang: str, arm: str, scale: float) -> list[str]:
    t = TEXT[lang]
    out = []
    if comp.timeline.empty:
        return out
    for name in ("new_gazelles", "new_unicorns"):
        g = comp.timeline[(comp.timeline["arm"] == arm) & (comp.timeline["outcome"] == name)].sort_values("year")
        if g.empty:
            continue
        clear = g[g["ci_low"] > 0]
        last = g.iloc[-1]
        if clear.empty:
            out.append(t["timeline_none"].format(what=t["names"][name]))
            continue
        value = interval(last["cum_diff_mean"] / scale, last["cum_ci_low"] / scale, last["cum_ci_high"] / scale, 1,
                         lang)
        out.append(t["timeline"].format(what=t["names"][name], value=value, year=int(last["year"]),
                                        first=int(clear["year"].iloc[0])))
    return out


def _ecosystem(name: str, lang: str, file: str | None = None) -> str:
    words = ECOSYSTEMS.get(name.removesuffix("_calibrated"))
    shown = name if not words else words if lang == "zh" else f"{words} ({name})"
    return f"{shown} (`{file}`)" if file else shown


def render_report(outdir, lang: str = "en") -> str:
    """``report.md`` (``lang="en"``) or ``report.zh.md`` (``"zh"``), from the comparison's tables."""
    comp = read_comparison(outdir)
    t, s = TEXT[lang], comp.setup
    arms = {a["label"]: a for a in s["arms"]}
    first = int(s["start_year"])
    park = _ecosystem(s.get("ecosystem", ""), lang, s.get("preset_file"))
    scale = float(s["scale"])
    full = scale == 1.0
    lines = [t["title"], "",
             t["setup"].format(n_arms=len(s["arms"]) - 1, arms_word="policy" if len(s["arms"]) == 2 else "policies",
                               n=len(s["seeds"]), years=s["years"], first=first,
                               last=first + int(s["years"]) - 1, ecosystem=park,
                               size=t["size_full" if full else "size_sampled"].format(scale=scale)), "",
             t["can_title"], "",
             t["can"].format(years=s["years"],
                             rare_clause=t["rare_full" if full else "rare_sampled"].format(scale=scale)), ""]
    lines += _summary(comp, lang, arms)
    lines += _worlds(comp, lang, arms)
    for image in ("differences", "costs", "timeline", "split"):
        if (comp.outdir / f"{image}.png").is_file():
            lines += [f"![{image}]({image}.png)", ""]
    lines += [t["policy_title"], ""]
    for label in comp.costs["arm"]:
        lines += _policy_lines(comp, lang, arms[label])
    lines += [t["caveats_title"], ""] + [f"- {c}" for c in t["caveats"]] + [""]
    lines += [t["files"].format(wall=float(s.get("wall_seconds", math.nan))), ""]
    return "\n".join(lines)

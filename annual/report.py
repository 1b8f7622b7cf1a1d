"""The study report: one self-contained HTML file (figures embedded as data URIs, no external resource), in
English or Chinese, with the summary a manager reads first.

Sections: zones against targets (study totals), year over year (with ``previous``), networks, top
reinforcement needs (flagged equipment, red-grade feeders), open capacity by feeder, top SAIDI contributors,
scenarios, figures, provenance. Also the column translations of the Excel summary.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..capacity.export import translate as translate_capacity
from ..reliability.results import contributions
from .runner import BASE, StudyRun

__all__ = ["COLUMNS_ZH", "TEXT", "render_report", "sheet_name", "translate_table", "write_report", "zone_summary"]

#: Chinese headers of the study tables (English header -> Chinese); capacity columns come from
#: :data:`gridscope.capacity.export.COLUMNS_ZH`.
COLUMNS_ZH: dict[str, str] = {
    "scenario": "方案", "zone": "供电区域", "network": "电网", "customers": "用户数",
    "SAIFI": "用户平均停电次数SAIFI(次/户·年)", "SAIDI": "用户平均停电时间SAIDI(小时/户·年)",
    "CAIDI": "用户平均停电持续时间CAIDI(小时/次)", "ASAI": "供电可靠率ASAI", "ASUI": "供电不可用率ASUI",
    "ENS": "缺供电量ENS(MWh/年)", "AENS": "平均缺供电量AENS(kWh/户·年)",
    "SAIFI_fault": "故障停电SAIFI", "SAIDI_fault": "故障停电SAIDI", "SAIFI_planned": "预安排停电SAIFI",
    "SAIDI_planned": "预安排停电SAIDI", "SAIFI_stderr": "SAIFI标准误差", "SAIDI_stderr": "SAIDI标准误差",
    "ENS_stderr": "ENS标准误差", "asai_target": "供电可靠率目标", "saidi_target_h": "停电时间目标(小时)",
    "margin_h": "裕度(小时)", "meets_target": "是否达标", "severity": "严重程度", "loading_percent": "负载率(%)",
    "vm_pu": "电压(pu)", "when": "时刻", "vn_kv": "电压等级(kV)",
    "SAIFI_last": "去年SAIFI", "SAIFI_this": "今年SAIFI", "SAIFI_change_pct": "SAIFI变化(%)",
    "SAIFI_pass": "SAIFI达标", "CAIDI_last": "去年CAIDI", "CAIDI_this": "今年CAIDI",
    "CAIDI_change_pct": "CAIDI变化(%)", "CAIDI_pass": "CAIDI达标", "SAIDI_last": "去年SAIDI",
    "SAIDI_this": "今年SAIDI", "SAIDI_change_pct": "SAIDI变化(%)", "ASAI_last_pct": "去年供电可靠率(%)",
    "ASAI_this_pct": "今年供电可靠率(%)", "ASAI_pct": "供电可靠率(%)", "target_pct": "供电可靠率目标(%)",
    "meets": "是否达标", "ASAI_target_pct": "供电可靠率目标(%)", "ASAI_pass": "供电可靠率达标",
}

_SHEETS_ZH = {"zones": "分区汇总", "networks": "各电网", "flags": "重过载设备",
              "open_capacity_feeder": "线路可开放容量", "comparison": "同比"}

#: Report texts per language.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "zones": "Supply zones against targets", "yoy": "Year over year", "networks": "Networks",
        "needs": "Top reinforcement needs", "open": "Open capacity by feeder", "contrib": "Top SAIDI contributors",
        "scenarios": "Scenarios", "figures": "Figures", "provenance": "Provenance", "verdict_ok": "all targets met",
        "verdict_no": "targets missed", "meets": "meets", "misses": "misses", "no_target": "no target",
        "flags_none": "No flagged equipment at the planning point.", "summary": "Summary",
        "lead": "{n} network(s), {c:,} customers; method {m}. System SAIDI {s:.3f} h, ASAI {a:.4f} %.",
        "zones_ok": "Zones meeting their target: {ok} of {n}.", "generated": "generated",
        "no_previous": "No previous results given (set previous = ... in the config).",
    },
    "zh": {
        "zones": "各供电区域与目标对比", "yoy": "同比(与去年对比)", "networks": "各电网", "needs": "主要改造需求",
        "open": "各线路可开放容量", "contrib": "停电时间主要贡献设备", "scenarios": "方案对比", "figures": "图表",
        "provenance": "计算依据", "verdict_ok": "全部达标", "verdict_no": "未全部达标", "meets": "达标",
        "misses": "未达标", "no_target": "无目标", "flags_none": "规划负荷下无重过载设备。", "summary": "摘要",
        "lead": "共{n}个电网、{c:,}户;计算方法 {m}。系统用户平均停电时间 {s:.3f} 小时,供电可靠率 {a:.4f} %。",
        "zones_ok": "达标供电区域:{ok}/{n}。", "generated": "生成时间",
        "no_previous": "未给出去年结果(在配置中设置 previous = ...)。",
    },
}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;
color:#222;max-width:1200px}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.ok{background:#d9f2d9}.no{background:#f9d6d5}.lead{font-size:1.05em;background:#f6f8fa;padding:.8em;border-radius:6px}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}img{max-width:100%;height:auto}
"""


def sheet_name(name: str, lang: str) -> str:
    """The Excel sheet name of summary table ``name`` in ``lang``."""
    return _SHEETS_ZH.get(name, name) if lang == "zh" else name


def translate_table(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``df`` with Chinese headers when ``lang == "zh"`` (capacity values and headers translated as in
    :func:`gridscope.capacity.export.translate`)."""
    if lang != "zh":
        return df
    own = df.rename(columns={c: COLUMNS_ZH[c] for c in df.columns if c in COLUMNS_ZH})
    return translate_capacity(own, "zh")


def _fmt(v: Any, col: str) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "NO"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        if "ASAI" in col or "asai" in col:
            return f"{v:.4f}"
        if col.endswith("_pct") or "percent" in col:
            return f"{v:+.2f}" if "change" in col else f"{v:.1f}"
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return html.escape(str(v))


_GOOD = ("yes", True, TEXT["en"]["meets"], TEXT["zh"]["meets"])
_BAD = ("NO", False, TEXT["en"]["misses"], TEXT["zh"]["misses"])


def _html_table(df: pd.DataFrame, lang: str, *, pass_cols: tuple[str, ...] = ()) -> str:
    shown = translate_table(df, lang)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for (_, raw), (_, row) in zip(df.iterrows(), shown.iterrows(), strict=True):
        cells = []
        for col, (_, v) in zip(df.columns, row.items(), strict=True):
            cls = ""
            if col in pass_cols and raw[col] in _GOOD:
                cls = ' class="ok"'
            elif col in pass_cols and raw[col] in _BAD:
                cls = ' class="no"'
            cells.append(f"<td{cls}>{_fmt(v, str(col))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def zone_summary(totals: Any, lang: str = "en") -> pd.DataFrame:
    """The study totals per zone (base case) as shown in the report and printed by the CLI: customers, SAIFI,
    SAIDI, CAIDI, ASAI and target in percent, margin (h) and the verdict in ``lang``."""
    base = totals.sel(scenario=BASE)
    t = TEXT[lang]
    meets = [t["no_target"] if m != m else (t["meets"] if m else t["misses"]) for m in base["meets_target"].values]
    return pd.DataFrame({
        "zone": base.zone.values.astype(str), "customers": np.round(base["customers"].values).astype(int),
        "SAIFI": base["SAIFI"].values, "SAIDI": base["SAIDI"].values, "CAIDI": base["CAIDI"].values,
        "ASAI_pct": base["ASAI"].values * 100, "target_pct": base["asai_target"].values * 100,
        "margin_h": base["margin_h"].values, "meets": meets})


def _needs(run: StudyRun, top: int = 15) -> pd.DataFrame:
    rows = []
    for net, cap in run.capacity.items():
        f = cap.flags
        if len(f):
            cols = [c for c in ("element", "index", "name", "feeder", "loading_percent", "severity") if c in f]
            rows.append(f[cols].assign(network=net))
    if not rows:
        return pd.DataFrame()
    df = pd.concat(rows, ignore_index=True)
    df = df.sort_values("loading_percent", ascending=False, kind="stable") if "loading_percent" in df else df
    return df[["network", *[c for c in df.columns if c != "network"]]].head(top)


def _open_capacity(run: StudyRun, top: int = 20) -> pd.DataFrame:
    rows = []
    for net, cap in run.capacity.items():
        t = cap.table("feeder")
        cols = [c for c in ("name", "rating_mva", "load_rate_percent", "open_capacity_mva", "n1_open_capacity_mva",
                            "binding_element", "grade") if c in t]
        rows.append(t[cols].assign(network=net))
    if not rows:
        return pd.DataFrame()
    df = pd.concat(rows, ignore_index=True).sort_values("open_capacity_mva", kind="stable")
    return df[["network", *[c for c in df.columns if c != "network"]]].head(top)


def _contributors(run: StudyRun, top: int = 15) -> pd.DataFrame:
    total_cust = sum(float(ds["customers"].sel(zone="system").isel(scenario=0)) for ds in run.reliability.values())
    rows = []
    for net, ds in run.reliability.items():
        base = ds.sel(scenario=BASE)
        c = contributions(base, zone="system", top=top)
        cust = float(base["customers"].sel(zone="system"))
        # customer hours per customer of the whole study: comparable across networks
        rows.append(c.assign(network=net, study_SAIDI_h=c["SAIDI_h"] * cust / total_cust))
    df = pd.concat(rows, ignore_index=True).sort_values("study_SAIDI_h", ascending=False, kind="stable").head(top)
    return df[["network", "element", "index", "name", "feeder", "study_SAIDI_h", "SAIDI_share"]]


def _scenarios(totals: Any) -> pd.DataFrame:
    sys = totals.sel(zone="system")
    return pd.DataFrame({"scenario": totals.scenario.values.astype(str), "SAIFI": sys["SAIFI"].values,
                         "SAIDI": sys["SAIDI"].values, "CAIDI": sys["CAIDI"].values,
                         "ASAI_this_pct": sys["ASAI"].values * 100, "ENS": sys["ENS"].values,
                         "outage_events_per_yr": totals["outage_events_per_yr"].values,
                         "mean_repair_h": totals["mean_repair_h"].values})


@dataclass(frozen=True)
class _Page:
    """What every report section reads."""

    run: StudyRun
    totals: Any
    comparison: Any
    figures: Mapping[str, list[Path]]
    lang: str

    @property
    def t(self) -> dict[str, str]:
        return TEXT[self.lang]

    def figure(self, name: str, caption: str) -> list[str]:
        return [_img(self.figures[name][0], caption)] if name in self.figures else []

    def heading(self, key: str) -> str:
        return f"<h2 id='{key}'>{html.escape(self.t[key])}</h2>"


def _summary_section(p: _Page) -> list[str]:
    t, cfg = p.t, p.run.config
    base = p.totals.sel(scenario=BASE)
    system = base.sel(zone="system")
    verdicts = [m for m in base["meets_target"].sel(zone=[z for z in base.zone.values if z != "system"]).values
                if m == m]
    lead = t["lead"].format(n=len(p.run.reliability), c=round(float(system["customers"])),
                            m=cfg.reliability.method, s=float(system["SAIDI"]), a=float(system["ASAI"]) * 100)
    lead += " " + t["zones_ok"].format(ok=int(np.sum(verdicts)), n=len(verdicts))
    if p.comparison is not None:
        lead += " " + (t["verdict_ok"] if p.comparison.passed else t["verdict_no"]) + f" ({t['yoy']})"
    return [f"<h1>{html.escape(cfg.title)}{f' {cfg.year}' if cfg.year else ''}</h1>", p.heading("summary"),
            f'<p class="lead">{html.escape(lead)}</p>', p.heading("zones"),
            _html_table(zone_summary(p.totals, p.lang), p.lang, pass_cols=("meets",)),
            *p.figure("zones_vs_targets", p.t["zones"])]


def _yoy_section(p: _Page) -> list[str]:
    if p.comparison is None:
        return [p.heading("yoy"), f"<p>{html.escape(p.t['no_previous'])}</p>"]
    table = p.comparison.table()
    targets = [c for c in table.columns if c.startswith(("SAIFI", "CAIDI"))]
    levels = [c for c in table.columns if c.startswith(("SAIDI", "ASAI"))]
    out = [p.heading("yoy"),
           _html_table(table[targets].reset_index(), p.lang, pass_cols=("SAIFI_pass", "CAIDI_pass")),
           _html_table(table[levels].reset_index(), p.lang, pass_cols=("ASAI_pass",))]
    if len(p.comparison.programme):
        prog = p.comparison.programme.reset_index()
        prog["pass"] = ["-" if v is None else ("yes" if v else "NO") for v in prog["pass"]]
        out.append(_html_table(prog, p.lang, pass_cols=("pass",)))
    return out + p.figure("year_over_year", p.t["yoy"])


def _networks_section(p: _Page) -> list[str]:
    if len(p.run.reliability) < 2:
        return []
    base = p.totals.sel(scenario=BASE, zone="system")
    table = pd.DataFrame({"network": base.network.values.astype(str),
                          "customers": np.round(base["network_customers"].values).astype(int),
                          "SAIFI": base["network_SAIFI"].values, "SAIDI": base["network_SAIDI"].values,
                          "ASAI_pct": base["network_ASAI"].values * 100})
    return [p.heading("networks"), _html_table(table, p.lang), *p.figure("networks_saidi", p.t["networks"])]


def _capacity_sections(p: _Page) -> list[str]:
    if not p.run.capacity:
        return []
    needs = _needs(p.run)
    return [p.heading("needs"),
            _html_table(needs, p.lang) if len(needs) else f"<p>{html.escape(p.t['flags_none'])}</p>",
            p.heading("open"), _html_table(_open_capacity(p.run), p.lang), *p.figure("open_capacity", p.t["open"])]


def _details_sections(p: _Page) -> list[str]:
    out = [p.heading("contrib"), _html_table(_contributors(p.run), p.lang)]
    if p.totals.sizes["scenario"] > 1:
        out += [p.heading("scenarios"), _html_table(_scenarios(p.totals), p.lang)]
    rest = [k for k in p.figures if k not in _PLACED_FIGURES]
    if rest:
        out.append(p.heading("figures"))
        out += [_img(p.figures[k][0], k.replace("_", " ")) for k in rest]
    return out


def _provenance_section(p: _Page) -> list[str]:
    run, cfg = p.run, p.run.config
    items = [("config", cfg.config_file or "-"), ("method", cfg.reliability.method),
             ("seed", str(cfg.reliability.seed)), ("executor", run.executor),
             ("gridscope", str(p.totals.attrs.get("gridscope_version", ""))),
             (p.t["generated"], dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))]
    items += [(f"network {n}", f"hash {ds.attrs.get('network_hash', '')}, seed {run.seeds.get(n)}")
              for n, ds in run.reliability.items()]
    return [p.heading("provenance"), _html_table(pd.DataFrame(items, columns=["item", "value"]), "en")]


#: Figures shown inside their section (the others go to the figures section).
_PLACED_FIGURES = ("zones_vs_targets", "year_over_year", "networks_saidi", "open_capacity")
_SECTIONS = (_summary_section, _yoy_section, _networks_section, _capacity_sections, _details_sections,
             _provenance_section)


def render_report(run: StudyRun, totals: Any, comparison: Any, figures: Mapping[str, list[Path]], *,
                  lang: str = "en") -> str:
    """The report as one HTML string (see the module docstring).

    Parameters
    ----------
    run : StudyRun
    totals : xarray.Dataset
        :func:`gridscope.annual.totals.study_totals` of the run.
    comparison : Comparison or None
        Year over year.
    figures : mapping of str to list of Path
        :func:`gridscope.annual.plots.study_figures` (the PNG files are embedded as data URIs).
    lang : {"en", "zh"}
    """
    page = _Page(run=run, totals=totals, comparison=comparison, figures=figures, lang=lang)
    body = [part for section in _SECTIONS for part in section(page)]
    return ("<!DOCTYPE html>\n<html lang=\"" + ("zh-CN" if lang == "zh" else "en") + "\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(run.config.title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(run: StudyRun, totals: Any, comparison: Any, figures: Mapping[str, list[Path]],
                 path: str | os.PathLike[str], *, lang: str = "en") -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8)."""
    out = Path(path)
    out.write_text(render_report(run, totals, comparison, figures, lang=lang), encoding="utf-8")
    return out

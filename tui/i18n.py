"""English / Chinese labels of the TUI: one glossary, shared with the exports.

Table headers come from :data:`gridscope.capacity.export.COLUMNS_ZH` (the export writer's glossary), extended here
only by the reliability and flag columns the capacity exports do not have; user-interface words live in
:data:`LABELS`. ``t("saidi", "zh")`` → ``"用户平均停电时间"``.
"""

from __future__ import annotations

from ..capacity.export import COLUMNS_ZH, SHEETS_ZH
from ..reliability.planning import PLAN_LABELS_ZH, VERDICTS_ZH
from ..textfmt import LANGS

__all__ = ["LABELS", "LANGS", "header", "t", "value"]

#: Languages offered by the language switch (the one list, :data:`gridscope.textfmt.LANGS`).

#: UI label key -> (English, Chinese).
LABELS: dict[str, tuple[str, str]] = {
    # tabs and screens
    "network": ("Network", "网络"),
    "reliability": ("Reliability", "供电可靠性"),
    "capacity": ("Capacity", "可开放容量"),
    "connection": ("Connection", "接入评估"),
    "help": ("Help", "帮助"),
    "map": ("Map", "网络图"),
    "problems": ("Problems", "数据问题"),
    "element": ("Element", "元件"),
    "feeders": ("Feeders", "线路"),
    "zones": ("Zones", "供电区域"),
    "load_points": ("Load points", "负荷点"),
    "contributors": ("Top contributors", "主要影响元件"),
    "distribution": ("Distribution", "分布"),
    "convergence": ("Convergence", "收敛"),
    "programme": ("Yearly programme", "逐年提升计划"),
    "flags": ("Flags", "重过载"),
    "peaks": ("Peak loading", "最大负载率"),
    "summary": ("Summary", "概况"),
    # summary
    "buses": ("Buses", "母线"),
    "lines": ("Lines", "线路段"),
    "line_km": ("Line length (km)", "线路长度(km)"),
    "trafos": ("Transformers", "变压器"),
    "switches": ("Switches", "开关"),
    "ties": ("Ties", "联络"),
    "sources": ("Sources", "电源"),
    "customers": ("Customers", "用户数"),
    "peak_mw": ("Peak demand (MW)", "最大负荷(MW)"),
    "supply_zone": ("Supply zone", "供电区域"),
    "no_problems": ("No validation problems.", "未发现数据问题。"),
    "n_problems": ("{n} validation problem(s): analysis is refused until they are fixed.",
                   "发现 {n} 个数据问题：修正前无法分析。"),
    "no_network": ("No network open. Press ctrl+o to open one (built-in name, file or simbench:<code>).",
                   "未打开网络。按 ctrl+o 打开（内置名称、文件或 simbench:<代码>）。"),
    "loading_network": ("Loading {name} …", "正在加载 {name} …"),
    # reliability form
    "method": ("Method", "方法"),
    "analytical": ("Analytical", "解析法"),
    "monte_carlo": ("Monte Carlo", "蒙特卡洛"),
    "years": ("Years", "模拟年数"),
    "target_cov": ("Target CoV", "目标变异系数"),
    "seed": ("Seed", "随机种子"),
    "failure_rate_scale": ("Failure rate ×", "故障率系数"),
    "repair_time_scale": ("Repair time ×", "修复时间系数"),
    "live_work_fraction": ("Live-line share", "不停电作业比例"),
    "tie_capacity": ("Check tie capacity", "校核联络转供能力"),
    "run": ("Run", "计算"),
    "run_programme": ("Programme", "逐年计划"),
    "programme_years": ("Plan years", "计划年数"),
    "pass": ("pass", "达标"),
    "fail": ("FAIL", "未达标"),
    # capacity
    "scaling": ("Load scaling", "负荷系数"),
    "profiles": ("Profiles CSV", "负荷曲线CSV"),
    "all": ("all", "全部"),
    "severity": ("Severity", "严重程度"),
    "feeder": ("Feeder", "线路"),
    "zone": ("Zone", "区域"),
    "filter": ("Filter", "筛选"),
    "export": ("Export", "导出"),
    "format": ("Format", "格式"),
    "language": ("Language", "语言"),
    "path": ("Path", "路径"),
    "cancel": ("Cancel", "取消"),
    "ok": ("OK", "确定"),
    "exported": ("Exported {n} file(s): {files}", "已导出 {n} 个文件：{files}"),
    "no_capacity": ("Run the capacity assessment first (r on this tab).", "请先计算可开放容量（本页按 r）。"),
    # connection
    "bus": ("Bus (no./name)", "母线（编号/名称）"),
    "location": ("Location x, y", "位置 x, y"),
    "p_mw": ("Demand (MW)", "申请容量(MW)"),
    "pf": ("Power factor", "功率因数"),
    "radius": ("Radius (km)", "搜索半径(km)"),
    "with_reliability": ("Reliability impact", "可靠性影响"),
    "evaluate": ("Evaluate", "评估"),
    "candidates": ("Candidates", "候选接入点"),
    "reinforcements": ("Reinforcements", "改造需求"),
    "violations": ("Violations", "越限"),
    "connect": ("CONNECT", "可接入"),
    "connect_then_reinforce": ("CONNECT, THEN REINFORCE", "先接入、后改造"),
    "reject": ("REJECT", "不可接入"),
    # outages
    "outages": ("Outages", "停电计划"),
    "jobs_file": ("Jobs file", "作业清单"),
    "year": ("Year", "年份"),
    "window_days": ("Window (days)", "间隔(天)"),
    "max_interruptions": ("Max per window", "窗口内最多停电"),
    "transfer_check": ("Check transfers", "潮流校核转供"),
    "toggle_decision": ("Approve / reject (a)", "同意/不同意 (a)"),
    "plan_file": ("Plan file", "计划文件"),
    "outage_groups": ("Outages", "停电组"),
    "jobs": ("Jobs", "作业"),
    "budget": ("Zone budgets", "区域预算"),
    "no_plan": ("Give a jobs file (.csv/.xlsx) and press Run (r).", "请填写作业清单（.csv/.xlsx）后按计算（r）。"),
    "plan_summary": ("{jobs} jobs in {groups} outages, {approved} approved · {ch} customer-hours · {saved} saved "
                     "by combining and live-line work · over budget: {over}",
                     "{jobs} 项作业，{groups} 次停电，已同意 {approved} 次 · {ch} 时户 · 合并与带电作业减少 {saved} "
                     "时户 · 超预算区域：{over}"),
    # frequent interruptions
    "frequent": ("Frequent", "频繁停电"),
    "cemi_n": ("CEMI n", "CEMI n"),
    "top": ("Top", "前"),
    "tie_max_km": ("Tie km", "联络≤km"),
    "rank_devices": ("Rank devices (d)", "装置排序 (d)"),
    "device_kinds": ("Devices", "装置"),
    "pick_one": ("tick at least one kind", "至少选择一种"),
    "export_file": ("File", "文件"),
    "cemi_zones": ("CEMI-n", "CEMI-n 分区"),
    "at_risk": ("At risk", "频繁停电负荷点"),
    "devices": ("Devices", "治理装置"),
    "no_frequent": ("Press Run (r) for CEMI-n and the load points at risk, then Rank devices (d).",
                    "按计算（r）得到 CEMI-n 与频繁停电负荷点，再按装置排序（d）。"),
    "frequent_summary": ("CEMI-{n} (> {n} interruptions/yr): system {cemi} % · {lps} load points",
                         "CEMI-{n}（年停电超过 {n} 次）：全系统 {cemi} % · {lps} 个负荷点"),
    "devices_summary": ("best device: {best}", "最佳装置：{best}"),
    "no_frequent_result": ("Run the frequent-interruption analysis first (r on this tab).",
                           "请先计算频繁停电（本页按 r）。"),
    # jobs
    "esc_cancel": ("Esc to cancel", "Esc 取消"),
    "eta": ("ETA", "剩余"),
    "cancelled": ("Cancelled.", "已取消。"),
    "idle": ("Ready.", "就绪。"),
    "done_in": ("{what} done in {s:.2f} s", "{what} 完成，用时 {s:.2f} 秒"),
    "error": ("Error", "错误"),
    "open_network": ("Open network", "打开网络"),
    "open_hint": ("Built-in name (rbts2, case33bw, mv_oberrhein …), a .json/.xlsx path, or simbench:<code>",
                  "内置名称（rbts2、case33bw、mv_oberrhein …）、.json/.xlsx 路径或 simbench:<代码>"),
    "open": ("Open", "打开"),
    "colour": ("Colour", "着色"),
    "page": ("rows {a}–{b} of {n}  ([ ] page)", "第 {a}–{b} 行，共 {n} 行（[ ] 翻页）"),
    "rows": ("{n} rows", "{n} 行"),
}

#: Table headers not in the export glossary (reliability, flags, problems, element data).
_HEADERS_ZH: dict[str, str] = {
    "zone": "供电区域",
    "customers": "用户数",
    "SAIFI": "用户平均停电次数SAIFI(次/户·年)",
    "SAIDI_h": "用户平均停电时间SAIDI(h/户·年)",
    "±SE_h": "标准误差(h)",
    "CAIDI_h": "CAIDI(h)",
    "ASAI_%": "供电可靠率ASAI(%)",
    "ENS_MWh": "停电电量ENS(MWh/年)",
    "target_%": "可靠率目标(%)",
    "margin_h": "裕度(h)",
    "meets": "达标",
    "P(year misses)": "单年未达标概率",
    "P5_h": "P5(h)", "P50_h": "P50(h)", "P95_h": "P95(h)",
    "share_%": "占比(%)",
    "cum_share_%": "累计占比(%)",
    "λ_per_yr": "故障率(次/年)",
    "U_h_per_yr": "年停电时间(h)",
    "r_h": "平均停电时间(h)",
    "p_avg_MW": "平均负荷(MW)",
    "load": "负荷点",
    "severity": "严重程度",
    "loading_percent": "负载率(%)",
    "vm_pu": "电压(pu)",
    "vn_kv": "电压等级(kV)",
    "when": "时刻",
    "hours_above": "越限小时",
    "table": "表",
    "message": "问题",
    "check": "检查项",
    "field": "字段",
    "scenario": "方案",
    "key": "按键",
    "action": "功能",
    # frequent interruptions
    "CEMI_%": "CEMI(%)",
    "customers_over_n": "超过n次用户数(期望)",
    "lam_fault_per_yr": "故障停电率(次/年)",
    "lam_planned_per_yr": "预安排停电率(次/年)",
    "lam_per_yr": "停电率(次/年)",
    "P(N>n)_%": "超过n次概率(%)",
    "causes": "主要停电原因",
    "device": "装置",
    "description": "说明",
    "CEMI_reduction_%": "CEMI降低(百分点)",
    "customers_relieved": "受益用户数",
    "saifi_reduction": "SAIFI降低(次/户·年)",
    "saidi_reduction_h": "SAIDI降低(h/户·年)",
}

_VALUES_ZH: dict[str, str] = {
    "overload": "过载", "heavy": "重载", "undervoltage": "低电压", "overvoltage": "过电压",
    "line": "线路段", "trafo": "配变", "trafo3w": "三绕组变压器", "bus": "母线", "switch": "开关",
    "green": "绿", "yellow": "黄", "red": "红", "system": "全系统",
    "connect": "可接入", "connect_then_reinforce": "先接入后改造", "reject": "不可接入",
    "pass": "达标", "FAIL": "未达标", "yes": "达标", "NO": "未达标",
    **VERDICTS_ZH, "approved": "已同意", "rejected": "不同意",
    "fuse": "熔断器", "recloser": "重合器", "tie": "联络线", "live_line": "不停电作业",
}


def t(key: str, lang: str = "en", **fmt: object) -> str:
    """The label ``key`` in ``lang``, formatted with ``fmt``; unknown keys come back as given."""
    en, zh = LABELS.get(key, (key, key))
    text = zh if lang == "zh" else en
    return text.format(**fmt) if fmt else text


def header(column: str, lang: str = "en") -> str:
    """A table header in ``lang``: the export glossary first, then the reliability/flag words."""
    if lang != "zh":
        return column
    if column in COLUMNS_ZH:
        return COLUMNS_ZH[column]
    if column in SHEETS_ZH:
        return SHEETS_ZH[column]
    if column in _HEADERS_ZH:
        return _HEADERS_ZH[column]
    if column in PLAN_LABELS_ZH:
        return PLAN_LABELS_ZH[column]
    base, _, rest = column.partition(" ")  # the programme's "SAIDI_h A": translated base, zone kept
    return f"{_HEADERS_ZH[base]} {rest}" if base in _HEADERS_ZH else column


def value(text: object, lang: str = "en") -> object:
    """A categorical cell value (severity, grade, element kind, decision) in ``lang``."""
    if lang == "zh" and isinstance(text, str):
        return _VALUES_ZH.get(text, text)
    return text

"""Planned outages (先算后停, 一停多用, 不停电作业) on RBTS Bus 2, each case computed by hand in the comments.

RBTS Bus 2 feeder F1 (shared/reference/rbts-bus2.md): the breaker F1 feeds bus 1; from bus 1 the fused laterals
S2 (LP1, 210 customers) and S3 (LP2, 210) and the main section S4 behind disconnector DS S4; at bus 6 the fused
laterals S5 (LP3, 210) and S6 (LP4, 1) and the main section S7 behind DS S7; at bus 11 the laterals S8 (LP5, 1)
and S9 (LP6, 10) and S10 behind DS S10; at bus 16 the lateral S11 (LP7, 10) and the normally-open tie B6-B8 to
bus 21 of feeder F2 (LP8, 1 customer behind fuse S13 at bus 19; LP9, 1 behind DS S14). Average loads:
LP1–LP3 0.535 MW, LP4–LP5 0.566 MW, LP6–LP7 0.454 MW.
"""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from gridscope.errors import ValidationError
from gridscope.reliability.analytical import analytical_indices
from gridscope.reliability.impact import build_impact
from gridscope.reliability.planning import plan_outages, read_jobs

LP = {f"LP{i + 1}": i for i in range(22)}  # load name -> net.load index in rbts2


def _jobs(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{"element": "line", "live_line": "no", "crew": "", **r} for r in rows])


def _plan(net, *rows: dict, **kw):
    return plan_outages(net, _jobs(*rows), **kw)


def test_main_section_job_with_tie_transfer(rbts2_net):
    plan = _plan(rbts2_net, {"job": "J1", "element_name": "S4", "duration_h": 8, "date": "2027-03-01"})
    j = plan.jobs.loc["J1"]
    # isolate bus 6 (the S4 section): open DS S4 upstream, the fuses S5/S6 and DS S7 below it; LP3 and LP4
    # hang only from bus 6: 210 + 1 = 211 customers for 8 h = 1688 customer-hours, (0.535 + 0.566) × 8 = 8.808 MWh;
    # LP5–LP7 (behind DS S7) go to F2 through the tie beforehand.
    assert j["opened"] == "DS S4; FUSE S5; FUSE S6; DS S7"
    assert j["closed_ties"] == "tie B6-B8"
    assert j["customers"] == 211
    assert j["customer_hours"] == pytest.approx(1688.0)
    assert j["ens_mwh"] == pytest.approx(8.808)
    assert j["refused"] == ""
    # the SAIDI increment of zone A is 1688 customer-hours over zone A's customers
    zones = plan.job_zones.set_index(["job", "zone"])
    cust_a = plan.zones.at["A", "customers"]
    assert zones.at[("J1", "A"), "saidi_increment_h"] == pytest.approx(1688.0 / cust_a)
    assert zones.at[("J1", "A"), "asai_increment"] == pytest.approx(1688.0 / cust_a / 8760)


def test_main_section_job_without_tie(rbts2_net):
    net = copy.deepcopy(rbts2_net)
    net.switch = net.switch[net.switch["name"] != "tie B6-B8"]
    plan = _plan(net, {"job": "J1", "element_name": "S4", "duration_h": 8, "date": "2027-03-01"})
    # no tie: LP3..LP7 all wait, 210 + 1 + 1 + 10 + 10 = 232 customers × 8 h = 1856
    assert plan.jobs.at["J1", "customers"] == 232
    assert plan.jobs.at["J1", "customer_hours"] == pytest.approx(1856.0)
    assert plan.jobs.at["J1", "closed_ties"] == ""


def test_lateral_job_and_live_line_job(rbts2_net):
    plan = _plan(rbts2_net,
                 {"job": "L", "element_name": "S2", "duration_h": 6, "date": "2027-04-01"},
                 {"job": "LL", "element_name": "S3", "duration_h": 6, "date": "2027-06-01", "live_line": "yes"})
    # lateral S2: fuse S2 opened, LP1 (210) off for 6 h = 1260; nothing else touched
    assert plan.jobs.at["L", "opened"] == "FUSE S2"
    assert plan.jobs.at["L", "customer_hours"] == pytest.approx(1260.0)
    # live-line work on S3 interrupts nobody and saves LP2's 210 × 6 = 1260 customer-hours
    assert plan.jobs.at["LL", "customers"] == 0
    assert plan.jobs.at["LL", "customer_hours"] == 0
    assert plan.jobs.at["LL", "saved_customer_hours"] == pytest.approx(1260.0)
    assert plan.jobs.at["LL", "verdict"] == "live line"


def test_overlapping_jobs_are_combined(rbts2_net):
    rows = ({"job": "A", "element_name": "S4", "duration_h": 8, "date": "2027-03-01", "crew": "c1"},
            {"job": "B", "element_name": "S5", "duration_h": 4, "date": "2027-03-02", "crew": "c2"})
    plan = _plan(rbts2_net, *rows)
    # separately: A 211 × 8 = 1688, B (LP3) 210 × 4 = 840 -> 2528; together (two crews in parallel, 8 h):
    # the S4 outage already takes LP3 off, 211 × 8 = 1688; saved 840 customer-hours
    g = plan.jobs.at["A", "group"]
    assert plan.jobs.at["B", "group"] == g
    assert plan.groups.at[g, "customer_hours"] == pytest.approx(1688.0)
    assert plan.groups.at[g, "separate_customer_hours"] == pytest.approx(2528.0)
    assert plan.groups.at[g, "saved_customer_hours"] == pytest.approx(840.0)
    assert plan.groups.at[g, "planned"] == dt.date(2027, 3, 1)
    # one crew doing both: 12 h × 211 = 2532 > 2528, so combining does not pay and they stay apart
    same_crew = _plan(rbts2_net, *({**r, "crew": "c1"} for r in rows))
    assert same_crew.jobs.at["A", "group"] != same_crew.jobs.at["B", "group"]


def test_transfer_refused_when_backup_feeder_would_overload(rbts2_net):
    net = copy.deepcopy(rbts2_net)
    s12 = net.line.index[net.line["name"] == "S12"][0]
    net.line.loc[s12, "max_i_ka"] = 0.25  # F2's head line: 3.5 MW on it now, 5.9 MW with LP5-LP7 added
    plan = _plan(net, {"job": "J1", "element_name": "S4", "duration_h": 8, "date": "2027-03-01"})
    j = plan.jobs.loc["J1"]
    assert j["closed_ties"] == ""
    assert "S12" in j["refused"]
    assert j["customers"] == 232  # LP5–LP7 stay off: 1856 customer-hours as without the tie
    assert j["customer_hours"] == pytest.approx(1856.0)
    # independent check with pandapower: base case within rating, switched state above it
    pp.runpp(net)
    assert net.res_line.at[s12, "loading_percent"] < 100
    net.switch.loc[net.switch["name"].isin(["DS S4", "FUSE S5", "FUSE S6", "DS S7"]), "closed"] = False
    net.switch.loc[net.switch["name"] == "tie B6-B8", "closed"] = True
    net.line.loc[net.line["name"] == "S4", "in_service"] = False
    pp.runpp(net)
    assert net.res_line.at[s12, "loading_percent"] > 100


def test_dates_keep_customers_within_the_window(rbts2_net):
    t1 = rbts2_net.trafo.index[rbts2_net.trafo["name"] == "T1"][0]
    plan = plan_outages(rbts2_net, _jobs(
        {"job": "line", "element_name": "S2", "duration_h": 6, "date": "2027-03-01"},
        {"job": "trafo", "element": "trafo", "element_index": t1, "duration_h": 6, "date": "2027-03-31"}),
        combine=False)
    # both interrupt LP1; not twice within 60 days: the second moves to 1 March + 60 days = 30 April
    assert plan.jobs.at["line", "planned"] == dt.date(2027, 3, 1)
    assert plan.jobs.at["trafo", "planned"] == dt.date(2027, 4, 30)
    g = plan.jobs.at["trafo", "group"]
    assert plan.groups.at[g, "moved_days"] == 30
    # allowing 2 per window keeps the request
    two = plan_outages(rbts2_net, _jobs(
        {"job": "line", "element_name": "S2", "duration_h": 6, "date": "2027-03-01"},
        {"job": "trafo", "element": "trafo", "element_index": t1, "duration_h": 6, "date": "2027-03-31"}),
        combine=False, max_interruptions=2)
    assert two.jobs.at["trafo", "planned"] == dt.date(2027, 3, 31)


def test_single_jobs_agree_with_the_analytical_planned_outages(rbts2_net):
    """Every line and transformer of RBTS Bus 2 as a 5 h job equals the analytical method's planned outage of
    that component at 1/yr × 5 h (both without the tie check): the other method, built from the impact ranges."""
    net = copy.deepcopy(rbts2_net)
    for t in ("line", "trafo"):
        net[t]["planned_per_yr"], net[t]["planned_h"] = 1.0, 5.0
    impact = build_impact(net)
    res = analytical_indices(impact)
    ch = res.comp_ch_planned.sum(axis=1)
    rows = [{"job": f"{e}{i}", "element": e, "element_index": int(i), "duration_h": 5,
             "date": (dt.date(2027, 1, 1) + dt.timedelta(days=int(k))).isoformat()}
            for k, (e, i) in enumerate(zip(impact.comp_element, impact.comp_index, strict=True))]
    plan = plan_outages(net, _jobs(*rows), combine=False, check_transfer=False)
    got = plan.jobs.loc[[r["job"] for r in rows], "customer_hours"].to_numpy()
    np.testing.assert_allclose(got, ch, rtol=1e-12)
    assert len(rows) == 36 + 20 and got.sum() > 0


def test_zone_budget(rbts2_net):
    from gridscope import assess_reliability

    plan = _plan(rbts2_net, {"job": "J1", "element_name": "S4", "duration_h": 8, "date": "2027-03-01"},
                 targets={"A": 99.0, "B": 99.0})
    zone_saidi = assess_reliability(rbts2_net)["SAIDI_fault"].sel(zone="A").item()
    z = plan.zones.loc["A"]
    # target 99 % -> 1 % of 8760 h = 87.6 h; budget = 87.6 - expected fault SAIDI of zone A
    assert z["saidi_target_h"] == pytest.approx(87.6)
    assert z["fault_saidi_h"] == pytest.approx(zone_saidi)
    assert z["budget_h"] == pytest.approx(87.6 - z["fault_saidi_h"])
    assert z["planned_saidi_h"] == pytest.approx(1688.0 / z["customers"])
    assert plan.jobs.at["J1", "verdict"] == "approve"
    # the default targets (A 99.989 % = 0.96 h) are already exceeded by RBTS's faults: over budget
    tight = _plan(rbts2_net, {"job": "J1", "element_name": "S4", "duration_h": 8, "date": "2027-03-01"})
    assert tight.jobs.at["J1", "verdict"] == "over budget"


def test_bad_jobs_are_all_listed(rbts2_net):
    net = copy.deepcopy(rbts2_net)
    net.line.loc[net.line.index[net.line["name"] == "S9"][0], "in_service"] = False
    bad = pd.DataFrame([
        {"job": "ok", "element": "line", "element_name": "S2", "duration_h": "4", "date": "2027-02-01"},
        {"job": "typo", "element": "cable-ish", "element_name": "S2", "duration_h": "4", "date": "2027-02-01"},
        {"job": "ghost", "element": "line", "element_name": "S99", "duration_h": "4", "date": "2027-02-01"},
        {"job": "neg", "element": "line", "element_name": "S3", "duration_h": "-2", "date": "2027-02-01"},
        {"job": "late", "element": "line", "element_name": "S3", "duration_h": "2", "date": "2028-01-05"},
        {"job": "off", "element": "line", "element_name": "S9", "duration_h": "2", "date": "2027-02-01"},
    ])
    with pytest.raises(ValidationError) as err:
        read_jobs(bad, net, year=2027)
    rows = sorted((p.index, p.name) for p in err.value.problems)
    # file rows count from 2 (row 1 is the header)
    assert rows == [(3, "typo"), (4, "ghost"), (5, "neg"), (6, "late"), (7, "off")]
    text = str(err.value)
    assert "out of service" in text and "outside 2027" in text and "duration_h" in text


def test_cli_outages(tmp_path, run):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("job,element,element_name,duration_h,date,live_line\n"
                    "J1,线路,S4,8,2027-03-01,否\nJ2,line,S5,4,2027-03-02,no\nJ3,line,S3,6,2027-05-01,是\n",
                    encoding="utf-8")
    out = tmp_path / "plan.xlsx"
    res = run("outages", "rbts2", str(jobs), "--out", str(out), "--lang", "zh")
    assert res.exit_code == 0, res.output
    assert "1688.0" in res.output and "840.0" in res.output  # combined outage and its saving
    from openpyxl import load_workbook

    wb = load_workbook(out)
    assert wb.sheetnames == ["作业", "停电组", "供电区域", "作业-区域"]
    head = [c.value for c in wb["作业"][1]]
    assert head[0] == "作业" and "停电时户数" in head
    assert run("outages", "rbts2", str(jobs), "--out", str(out)).exit_code == 4  # exists, no --force
    csv = tmp_path / "plan.csv"
    assert run("outages", "rbts2", str(jobs), "--out", str(csv)).exit_code == 0
    assert sorted(p.name for p in tmp_path.glob("plan*.csv")) == [
        "plan.csv", "plan_groups.csv", "plan_job_zones.csv", "plan_zones.csv"]


def test_cli_outages_bad_file_exit_2(tmp_path, run):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("job,element,element_name,duration_h,date\nJ1,line,S99,8,2027-03-01\n"
                    "J2,line,S2,-1,2027-03-01\n", encoding="utf-8")
    res = run("outages", "rbts2", str(jobs))
    assert res.exit_code == 2
    assert "S99" in res.output and "duration_h" in res.output


def test_study_outages_uses_the_cached_structures(rbts2_net):
    from gridscope import Study

    st = Study(rbts2_net)
    plan = st.outages(_jobs({"job": "J1", "element_name": "S4", "duration_h": 8, "date": "2027-03-01"}))
    assert plan.jobs.at["J1", "customer_hours"] == pytest.approx(1688.0)
    assert "impact" in st.cached()


def test_approved_budget_spends_only_approved_outages(rbts2_net):
    plan = _plan(rbts2_net,
                 {"job": "J1", "element_name": "S4", "duration_h": 8, "date": "2027-03-01"},
                 {"job": "L", "element_name": "S2", "duration_h": 6, "date": "2027-06-01"},
                 targets={"A": 99.0, "B": 99.0})
    cust_a = plan.zones.at["A", "customers"]
    g1, g2 = plan.jobs.at["J1", "group"], plan.jobs.at["L", "group"]
    # both go ahead: (1688 + 1260) / customers(A); only the lateral job: 1260 / customers(A); none: 0
    assert plan.zones.at["A", "planned_saidi_h"] == pytest.approx((1688 + 1260) / cust_a)
    from gridscope.reliability.planning import approved_budget

    assert approved_budget(plan, [g2]).at["A", "planned_saidi_h"] == pytest.approx(1260 / cust_a)
    assert approved_budget(plan, []).at["A", "planned_saidi_h"] == 0.0
    assert g1 != g2
    with pytest.raises(Exception, match="G99"):
        approved_budget(plan, ["G99"])


def test_transfer_checked_at_the_load_of_the_job_date(rbts2_net):
    """Profiles: 2 March at half load, 3 March at full load (hourly); F2's head line cut to 0.25 kA carries the
    transfer at half load (78 % / 2 + the transfer ≈ 67 %) but not at full load (135 %, see above)."""
    from gridscope.study import Study

    net = copy.deepcopy(rbts2_net)
    s12 = net.line.index[net.line["name"] == "S12"][0]
    net.line.loc[s12, "max_i_ka"] = 0.25
    time = pd.date_range("2027-03-02", periods=48, freq="h")
    factor = np.where(time.day == 2, 0.5, 1.0)
    p = pd.DataFrame(np.outer(factor, net.load["p_mw"].to_numpy()), index=time, columns=net.load.index)
    q = pd.DataFrame(np.outer(factor, net.load["q_mvar"].to_numpy()), index=time, columns=net.load.index)
    st = Study(net)
    rows = [{"job": "low", "element_name": "S4", "duration_h": 8, "date": "2027-03-02"},
            {"job": "peak", "element_name": "S4", "duration_h": 8, "date": "2027-03-03"}]
    plan = st.outages(_jobs(*rows), profiles={("load", "p_mw"): p, ("load", "q_mvar"): q}, combine=False,
                      max_interruptions=2)
    assert plan.jobs.at["low", "closed_ties"] == "tie B6-B8" and plan.jobs.at["low", "customers"] == 211
    assert plan.jobs.at["peak", "closed_ties"] == "" and plan.jobs.at["peak", "customers"] == 232
    assert plan.attrs["check_load"] == "load of each job's date"
    # independent: runpp at half load in the switched state stays within the rating
    net.load["scaling"] = 0.5
    net.switch.loc[net.switch["name"].isin(["DS S4", "FUSE S5", "FUSE S6", "DS S7"]), "closed"] = False
    net.switch.loc[net.switch["name"] == "tie B6-B8", "closed"] = True
    net.line.loc[net.line["name"] == "S4", "in_service"] = False
    pp.runpp(net)
    assert net.res_line.at[s12, "loading_percent"] < 100


@pytest.mark.slow
def test_day_peak_step_on_simbench(simbench_mv):
    import simbench as sb
    from gridscope.capacity.timeseries import coerce_profiles, day_peak_step

    prof = coerce_profiles(simbench_mv, "simbench")
    absolute = sb.get_absolute_values(simbench_mv, profiles_instead_of_study_cases=True)
    total = absolute[("load", "p_mw")].sum(axis=1).to_numpy()
    # 1 March of the plan year is 1 March of SimBench's 2016 profile: the step with the largest total load
    steps = np.flatnonzero((prof.time.month == 3) & (prof.time.day == 1))
    assert steps.size == 96
    assert day_peak_step(simbench_mv, prof, dt.date(2027, 3, 1)) == steps[int(np.argmax(total[steps]))]

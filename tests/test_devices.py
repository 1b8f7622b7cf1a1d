"""Frequent interruptions: CELID-t by hand, the causes of a load point's interruptions, and the device ranking
checked against hand computations and against re-analysed networks (RBTS Bus 2; layout in test_planning.py)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from gridscope.reliability.analytical import analytical_indices
from gridscope.reliability.devices import candidate_devices, causes_of, celid_by_zone, prob_longer_than, rank_devices
from gridscope.reliability.frequent import cemi_by_zone
from gridscope.reliability.impact import build_impact

TOTAL = 1908  # RBTS Bus 2 customers


def _cemi_system(net, n):
    imp = build_impact(net)
    res = analytical_indices(imp)
    return float(cemi_by_zone(res.lam_fault + res.lam_planned, imp.load_customers, imp.load_zone, imp.zones,
                              n)["system"])


def test_celid_lp1_by_hand(rbts2_net):
    imp = build_impact(rbts2_net)
    p = prob_longer_than(imp, 4.0)
    lp1 = int(np.flatnonzero(imp.load_name == "LP1")[0])
    # longer than 4 h at LP1: faults of S1 (its section holds bus 1, LP1's lateral starts there: 5 h repair),
    # of its own lateral S2 (5 h) and of T1 (200 h); S4/S7/S10 faults are switched away in 1 h:
    # Λ = 0.065·0.75 + 0.065·0.6 + 0.015 = 0.10275/yr, P = 1 − e^−Λ
    assert p[lp1] == pytest.approx(1 - math.exp(-0.10275), rel=1e-12)
    # beyond 200 h nothing is longer; at t = 0 every interruption counts: 1 − e^−λ_LP1
    assert prob_longer_than(imp, 200.0)[lp1] == 0.0
    res = analytical_indices(imp)
    assert prob_longer_than(imp, 0.0)[lp1] == pytest.approx(1 - math.exp(-res.lam_fault[lp1]))
    assert 0 < celid_by_zone(imp, 4.0)["system"] < 1


def test_causes_of_lp1(rbts2_net):
    imp = build_impact(rbts2_net)
    lp1 = int(np.flatnonzero(imp.load_name == "LP1")[0])
    # every F1 main section interrupts LP1 (the breaker F1 clears them): S1, S4 at 0.04875/yr (0.75 km),
    # S2 (its lateral, 0.6 km) 0.039/yr; the largest first, equal ones in component order
    assert causes_of(imp, [lp1], top=3) == ["S1 0.0488/yr; S4 0.0488/yr; S7 0.0488/yr"]


def test_recloser_candidate_by_hand(rbts2_net):
    ranked = rank_devices(rbts2_net, 0, kinds=("recloser",), top=None).set_index("description")
    row = ranked.loc["switch 3 (DS S4) (DS) made a breaker"]
    # a breaker at DS S4: faults of S4, S7, S10 (2.1 km × 0.065 = 0.1365/yr) no longer interrupt LP1 and LP2
    # (420 customers, 1 h each): SAIFI and SAIDI fall by 420 × 0.1365 / 1908
    assert row["saifi_reduction"] == pytest.approx(420 * 0.1365 / TOTAL, rel=1e-9)
    assert row["saidi_reduction_h"] == pytest.approx(420 * 0.1365 / TOTAL, rel=1e-9)
    imp = build_impact(rbts2_net)
    lam = analytical_indices(imp).lam_fault
    lp12 = [int(np.flatnonzero(imp.load_name == f"LP{i}")[0]) for i in (1, 2)]
    # CEMI-0 = share with at least one interruption: 210·(e^−(λ−0.1365) − e^−λ) for each of LP1, LP2
    gain = sum(210 * (math.exp(-(lam[p] - 0.1365)) - math.exp(-lam[p])) for p in lp12) / TOTAL
    assert row["cemi_reduction"] == pytest.approx(gain, rel=1e-9)
    assert ranked["cemi_reduction"].is_monotonic_decreasing


def test_fuse_candidate_restores_the_original(rbts2_net):
    net = copy.deepcopy(rbts2_net)
    net.switch = net.switch[net.switch["name"] != "FUSE S2"]
    ranked = rank_devices(net, 0, kinds=("fuse",), top=None)
    s2 = int(net.line.index[net.line["name"] == "S2"][0])
    row = ranked.set_index("index").loc[s2]
    # the fuse goes where RBTS has it: the result is the original network's CEMI-0 (an independent analysis)
    assert row["cemi_after"] == pytest.approx(_cemi_system(rbts2_net, 0), rel=1e-12)
    assert row["cemi_before"] == pytest.approx(_cemi_system(net, 0), rel=1e-12)
    assert row["cemi_reduction"] > 0
    assert len(net.switch) == len(rbts2_net.switch) - 1  # the user's net is untouched


def test_live_line_candidate(rbts2_net):
    net = copy.deepcopy(rbts2_net)
    s2 = int(net.line.index[net.line["name"] == "S2"][0])
    net.line["planned_per_yr"] = 0.0
    net.line.loc[s2, "planned_per_yr"], net.line.loc[s2, "planned_h"] = 2.0, 8.0
    ranked = rank_devices(net, 0, kinds=("live_line",), top=None)
    assert list(ranked["index"]) == [s2]
    # live-line work on S2 removes its 2 planned outages/yr: back to the network without them
    assert ranked["cemi_after"].iloc[0] == pytest.approx(_cemi_system(rbts2_net, 0), rel=1e-12)
    assert net.line.at[s2, "planned_per_yr"] == 2.0


def test_tie_candidates_within_distance(rbts2_net):
    from gridscope.grid.facts import bus_xy_km

    cands = [c for c in candidate_devices(rbts2_net, kinds=("tie",), tie_max_km=0.5)]
    xy = bus_xy_km(rbts2_net)
    for c in cands:
        d = float(np.hypot(*(xy.loc[c.index].to_numpy() - xy.loc[c.partner_bus].to_numpy())))
        assert d == pytest.approx(c.length_km) and d <= 0.5
    assert len(cands) < len(candidate_devices(rbts2_net, kinds=("tie",), tie_max_km=5.0))


def test_bad_options(rbts2_net):
    from gridscope.errors import InputError

    with pytest.raises(InputError):
        rank_devices(rbts2_net, -1)
    with pytest.raises(InputError):
        candidate_devices(rbts2_net, kinds=("magic",))
    with pytest.raises(InputError):
        rank_devices(rbts2_net, 1, max_candidates=2)
    with pytest.raises(InputError):
        prob_longer_than(build_impact(rbts2_net), float("nan"))


def test_cli_frequent_and_cemi(run):
    res = run("frequent", "rbts2", "--n", "0", "--top", "3", "--devices", "--kind", "recloser")
    assert res.exit_code == 0, res.output
    assert "DS S4" in res.output and "CEMI-0" in res.output
    res = run("reliability", "rbts2", "--cemi", "0", "--celid", "4")
    assert res.exit_code == 0, res.output
    assert "CEMI-0" in res.output and "CELID-4h" in res.output


@pytest.mark.slow
def test_cemi_monte_carlo_agrees_with_poisson_on_simbench(simbench_mv):
    """Monte-Carlo CEMI-n (each load point's yearly count) against its expectation from the analytical rates
    (Poisson). A customer-weighted share of indicators has a yearly variance of at most 1/4, so the mean over
    Y years is within 4 · 0.5 / √Y of its expectation (with margin)."""
    import gridscope as gs

    years = 20_000
    ds = gs.assess_reliability(simbench_mv, method="monte-carlo", years=years, seed=11, interruption_counts=3)
    imp = build_impact(simbench_mv)
    res = analytical_indices(imp)
    lam = res.lam_fault + res.lam_planned
    for n in range(3):
        exact = float(cemi_by_zone(lam, imp.load_customers, imp.load_zone, imp.zones, n)["system"])
        got = float(ds["CEMI_mc"].sel(zone="system").isel(cemi_n=n))
        assert abs(got - exact) <= 4 * 0.5 / math.sqrt(years), (n, got, exact)


def test_cli_cemi_monte_carlo(run):
    res = run("reliability", "rbts2", "--method", "monte-carlo", "--years", "20000", "--cemi", "0")
    assert res.exit_code == 0, res.output
    line = res.output.split("CEMI-0")[1].splitlines()[1]
    # RBTS Bus 2 system CEMI-0 from the Poisson rule: 21.98 % (see docs/outages.md); sampled within ±2 points
    got = float(line.split("system")[1].strip().rstrip("%"))
    assert abs(got - 21.98) < 2.0 and "sampled" in res.output


def test_frequent_summary_by_hand(rbts2_net):
    from gridscope.reliability.devices import frequent_summary

    imp = build_impact(rbts2_net)
    s = frequent_summary(imp, 0, top=None)
    lp1 = s.load_points.set_index("name").loc["LP1"]
    # LP1: λ = 0.23925/yr (docs/outages.md), so P(N > 0) = 1 − e^−0.23925 = 0.2128; its causes as causes_of
    assert lp1["lam_per_yr"] == pytest.approx(0.23925, rel=1e-12)
    assert lp1["p_more_than_n"] == pytest.approx(1 - math.exp(-0.23925), rel=1e-12)
    assert lp1["causes"] == "S1 0.0488/yr; S4 0.0488/yr; S7 0.0488/yr"
    z = s.zones.set_index("zone")
    assert list(z["customers"]) == [654, 1254, TOTAL]
    # system CEMI-0 = Σ customers · (1 − e^−λ) / Σ customers, summed here row by row
    lps = s.load_points
    by_hand = sum(c * (1 - math.exp(-lam)) for c, lam in zip(lps["customers"], lps["lam_per_yr"], strict=True))
    assert z.at["system", "customers_over_n"] == pytest.approx(by_hand, rel=1e-12)
    assert z.at["system", "cemi"] == pytest.approx(by_hand / TOTAL, rel=1e-12)
    assert frequent_summary(imp, 0, top=3).load_points["name"].tolist() == lps["name"].head(3).tolist()


def test_rank_devices_with_prebuilt_structures_and_progress(rbts2_net):
    from gridscope.errors import CancelledError
    from gridscope.grid.topology import build_topology
    from gridscope.progress import CancelToken

    topo = build_topology(rbts2_net)
    records = []
    given = rank_devices(rbts2_net, 0, kinds=("recloser", "fuse"), top=None, topology=topo,
                         impact=build_impact(rbts2_net, topology=topo), progress=records.append)
    alone = rank_devices(rbts2_net, 0, kinds=("recloser", "fuse"), top=None)
    assert given.equals(alone)  # the caller's topology/impact are the same as rebuilding them
    assert records[-1].done == records[-1].total == len(alone)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError, match="candidate devices cancelled after 0 of"):
        rank_devices(rbts2_net, 0, cancel=token)

"""Analytical reliability: RBTS Bus 2 published results, closed-form feeders, properties."""

from __future__ import annotations

import gridscope as gs
import numpy as np
import pytest
from _feeders import chain_feeder, random_tree_feeder
from gridscope.grid.builtin import rbts2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# shared/reference/rbts-bus2.md: (λ, U_A, r_A, U_E, r_E) per load point
RBTS_LP = {
    "LP1": (0.23925, 3.57525, 14.944, 0.72525, 3.031), "LP2": (0.25225, 3.64025, 14.431, 0.79025, 3.133),
    "LP3": (0.25225, 3.64025, 14.431, 0.79025, 3.133), "LP4": (0.23925, 3.57525, 14.944, 0.72525, 3.031),
    "LP5": (0.25225, 3.64025, 14.431, 0.79025, 3.133), "LP6": (0.24900, 3.62400, 14.554, 0.77400, 3.108),
    "LP7": (0.25225, 3.60125, 14.277, 0.75125, 2.978), "LP8": (0.13975, 0.54275, 3.884, 0.54275, 3.884),
    "LP9": (0.13975, 0.50375, 3.605, 0.50375, 3.605), "LP10": (0.24250, 3.57850, 14.757, 0.72850, 3.004),
    "LP11": (0.25225, 3.64025, 14.431, 0.79025, 3.133), "LP12": (0.25550, 3.65650, 14.311, 0.80650, 3.157),
    "LP13": (0.25225, 3.58825, 14.225, 0.73825, 2.927), "LP14": (0.25550, 3.60450, 14.108, 0.75450, 2.953),
    "LP15": (0.24250, 3.57850, 14.757, 0.72850, 3.004), "LP16": (0.25225, 3.64025, 14.431, 0.79025, 3.133),
    "LP17": (0.24250, 3.59150, 14.810, 0.74150, 3.058), "LP18": (0.24250, 3.57850, 14.757, 0.72850, 3.004),
    "LP19": (0.25550, 3.64350, 14.260, 0.79350, 3.106), "LP20": (0.25550, 3.64350, 14.260, 0.79350, 3.106),
    "LP21": (0.25225, 3.58825, 14.225, 0.73825, 2.927), "LP22": (0.25550, 3.60450, 14.108, 0.75450, 2.953),
}
# case: (SAIFI, SAIDI, CAIDI, ASAI, ENS, AENS)
RBTS_SYSTEM = {
    "A": (0.248211, 3.61259, 14.5545, 0.999588, 37.7457, 19.783),
    "E": (0.2482109538784067, 0.7655746855345913, 3.084371070543607, 0.999913, 8.843829, 4.6351),
    "fuses only": (0.248211, 4.16299, 16.7720, 0.999525, 43.8244, 22.969),
    "no ties": (0.248211, 3.73209, 15.0360, 0.999574, 40.7753, 21.371),
}
# feeder: (customers, SAIFI, SAIDI A, CAIDI A, ENS A, SAIDI E, ENS E)
RBTS_FEEDERS = {
    "F1": (652, 0.247993, 3.618367, 14.5906, 13.172063, 0.768367, 2.783813),
    "F2": (2, 0.139750, 0.523250, 3.74419, 1.122063, 0.523250, 1.122063),
    "F3": (632, 0.249890, 3.623758, 14.5014, 11.203192, 0.773758, 2.351092),
    "F4": (622, 0.247082, 3.605111, 14.5907, 12.248362, 0.755111, 2.586862),
}


def _digits(value: float) -> float:
    """Half a unit of the last printed digit of a published value, relative (at least 1e-5)."""
    text = repr(value)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return max(1e-5, 0.5 * 10.0 ** (-decimals) / abs(value))


@pytest.fixture(scope="module")
def rbts_results():
    return {
        "A": gs.assess_reliability(gs.load_network("rbts2")),
        "E": gs.assess_reliability(gs.load_network("rbts2-e")),
        "fuses only": gs.assess_reliability(rbts2(disconnectors=False)),
        "no ties": gs.assess_reliability(rbts2(ties=False)),
    }


@pytest.mark.parametrize("case", list(RBTS_SYSTEM))
def test_rbts_system_indices(rbts_results, case):
    ds = rbts_results[case].sel(zone="system")
    for name, ref in zip(("SAIFI", "SAIDI", "CAIDI", "ASAI", "ENS", "AENS"), RBTS_SYSTEM[case], strict=True):
        assert float(ds[name]) == pytest.approx(ref, rel=_digits(ref)), name
    assert float(ds["customers"]) == 1908


def test_rbts_identity_between_cases(rbts_results):
    diff = float(rbts_results["A"]["SAIDI"].sel(zone="system") - rbts_results["E"]["SAIDI"].sel(zone="system"))
    assert diff == pytest.approx(0.015 * (200 - 10) * 1906 / 1908, rel=1e-12)


@pytest.mark.parametrize("case", ["A", "E"])
def test_rbts_load_points(rbts_results, case):
    ds = rbts_results[case]
    names = ds["load_name"].values.tolist()
    assert sorted(names) == sorted(RBTS_LP)
    for lp, (lam, u_a, r_a, u_e, r_e) in RBTS_LP.items():
        i = names.index(lp)
        u_ref, r_ref = (u_a, r_a) if case == "A" else (u_e, r_e)
        assert float(ds["lp_failure_rate"][i]) == pytest.approx(lam, rel=1e-5), lp
        assert float(ds["lp_unavailability"][i]) == pytest.approx(u_ref, rel=1e-5), lp
        assert float(ds["lp_duration"][i]) == pytest.approx(r_ref, abs=5e-4), lp


@pytest.mark.parametrize("case", ["A", "E"])
def test_rbts_feeders(rbts_results, case):
    ds = rbts_results[case]
    for feeder, (cust, saifi, saidi_a, caidi_a, ens_a, saidi_e, ens_e) in RBTS_FEEDERS.items():
        f = ds.sel(feeder=feeder)
        assert float(f["feeder_customers"]) == cust
        assert float(f["feeder_SAIFI"]) == pytest.approx(saifi, rel=1e-5)
        if case == "A":
            assert float(f["feeder_SAIDI"]) == pytest.approx(saidi_a, rel=1e-5)
            assert float(f["feeder_CAIDI"]) == pytest.approx(caidi_a, rel=_digits(caidi_a))
            assert float(f["feeder_ENS"]) == pytest.approx(ens_a, rel=1e-5)
        else:
            assert float(f["feeder_SAIDI"]) == pytest.approx(saidi_e, rel=1e-5)
            assert float(f["feeder_ENS"]) == pytest.approx(ens_e, rel=1e-5)


def test_rbts_zones_and_targets(rbts_results):
    ds = rbts_results["A"]
    assert list(ds.zone.values) == ["A", "B", "system"]
    # zone A = F1 + F2, zone B = F3 + F4: customer-weighted feeder values
    f = ds.sel(feeder=["F1", "F2"])
    expect = float((f["feeder_SAIDI"] * f["feeder_customers"]).sum() / f["feeder_customers"].sum())
    assert float(ds["SAIDI"].sel(zone="A")) == pytest.approx(expect, rel=1e-12)
    assert float(ds["saidi_target_h"].sel(zone="B")) == pytest.approx((1 - 0.99965) * 8760)
    assert float(ds["margin_h"].sel(zone="B")) == pytest.approx(
        (1 - 0.99965) * 8760 - float(ds["SAIDI"].sel(zone="B")))
    assert float(ds["meets_target"].sel(zone="A")) == 0.0  # 3.6 h > 0.96 h
    e = rbts_results["E"]
    assert float(e["meets_target"].sel(zone="B")) == 1.0  # 0.77 h < 3.07 h
    assert np.isnan(float(ds["meets_target"].sel(zone="system")))


def test_contributions_add_up(rbts_results):
    ds = rbts_results["A"]
    for zone in ("A", "B", "system"):
        total = float(ds["contrib_SAIDI"].sel(zone=zone).sum())
        assert total == pytest.approx(float(ds["SAIDI"].sel(zone=zone)), rel=1e-12)
        assert float(ds["contrib_ENS"].sel(zone=zone).sum()) == pytest.approx(float(ds["ENS"].sel(zone=zone)))
        assert float(ds["contrib_SAIDI_share"].sel(zone=zone).sum()) == pytest.approx(1.0)
    top = gs.reliability.contributions(ds, top=3)
    # each 200 h transformer outage of a 210-customer point: 0.015 × 200 × 210 / 1908
    assert top["SAIDI_h"].iloc[0] == pytest.approx(0.015 * 200 * 210 / 1908)
    assert set(top["element"]) == {"trafo"}


def _chain(**kw):
    base = [
        {"km": 1.0, "lam": 0.1, "r": 4.0, "customers": 100, "p_avg_mw": 1.0},
        {"km": 2.0, "lam": 0.1, "r": 4.0, "customers": 50, "p_avg_mw": 0.5, "switch": kw.get("s1")},
        {"km": 1.0, "lam": 0.2, "r": 10.0, "customers": 10, "p_avg_mw": 0.2, "switch": kw.get("s2")},
    ]
    return chain_feeder(base, tie=kw.get("tie", False), tie_switching_h=1.5)


def _lp(ds, name):
    i = ds["load_name"].values.tolist().index(name)
    return float(ds["lp_failure_rate"][i]), float(ds["lp_unavailability"][i])


@pytest.mark.parametrize(
    ("kw", "expect"),
    [
        # breaker only: every fault takes everything down until repaired
        ({}, {"LD1": (0.5, 3.2), "LD2": (0.5, 3.2), "LD3": (0.5, 3.2)}),
        # disconnectors: upstream load points restored after 1 h
        ({"s1": "DS", "s2": "DS"}, {"LD1": (0.5, 0.8), "LD2": (0.5, 1.4), "LD3": (0.5, 3.2)}),
        # + a tie at the end (1.5 h): downstream blocks restored through it
        ({"s1": "DS", "s2": "DS", "tie": True}, {"LD1": (0.5, 0.8), "LD2": (0.5, 1.15), "LD3": (0.5, 2.45)}),
        # a fuse on the last section: its faults no longer reach upstream
        ({"s1": "DS", "s2": "FUSE"}, {"LD1": (0.3, 0.6), "LD2": (0.3, 1.2), "LD3": (0.5, 3.2)}),
    ],
)
def test_closed_form_chain(kw, expect):
    ds = gs.assess_reliability(_chain(**kw))
    for lp, (lam, u) in expect.items():
        got = _lp(ds, lp)
        assert got[0] == pytest.approx(lam, rel=1e-12), lp
        assert got[1] == pytest.approx(u, rel=1e-12), lp
    n = np.array([100, 50, 10])
    u = np.array([expect[k][1] for k in ("LD1", "LD2", "LD3")])
    lam = np.array([expect[k][0] for k in ("LD1", "LD2", "LD3")])
    s = ds.sel(zone="system")
    assert float(s["SAIDI"]) == pytest.approx((n * u).sum() / n.sum())
    assert float(s["SAIFI"]) == pytest.approx((n * lam).sum() / n.sum())
    assert float(s["ENS"]) == pytest.approx((np.array([1.0, 0.5, 0.2]) * u).sum())
    assert float(s["ASAI"]) == pytest.approx(1 - (n * u).sum() / n.sum() / 8760)


def test_planned_outages_and_live_work():
    net = _chain(s1="DS", s2="DS")
    net.line.loc[2, ["planned_per_yr", "planned_h"]] = [1.0, 8.0]
    ds = gs.assess_reliability(net)
    # a planned outage of L2 interrupts only what cannot be fed another way: LD3 (for 8 h)
    i = ds["load_name"].values.tolist().index("LD3")
    assert float(ds["lp_unavailability_planned"][i]) == pytest.approx(8.0)
    assert float(ds["lp_unavailability_fault"][i]) == pytest.approx(3.2)
    assert float(ds["SAIDI_planned"].sel(zone="system")) == pytest.approx(10 * 8.0 / 160)
    assert float(ds["SAIDI"].sel(zone="system")) == pytest.approx(
        float(ds["SAIDI_fault"].sel(zone="system")) + 10 * 8.0 / 160)
    live = gs.assess_reliability(net, live_work_fraction=0.75)
    assert float(live["SAIDI_planned"].sel(zone="system")) == pytest.approx(10 * 8.0 * 0.25 / 160)
    assert float(live["SAIFI_planned"].sel(zone="system")) == pytest.approx(10 * 0.25 / 160)


def test_scenario_scales_exactly():
    net = gs.load_network("rbts2")
    ds = gs.reliability.scenario(net, failure_rate_scale=0.85, repair_time_scale=0.95)
    base = ds.sel(scenario="base", zone="system")
    what = ds.sel(scenario="scenario", zone="system")
    assert float(what["SAIFI"]) == pytest.approx(0.85 * float(base["SAIFI"]), rel=1e-12)
    # durations are min(switching 1 h, repair): scaling repair by 0.95 keeps every repair above 1 h
    assert float(what["SAIDI"]) < float(base["SAIDI"])
    plan = gs.reliability.yearly_programme(net, years=2)
    saifi = plan["SAIFI"].sel(zone="system").values
    assert saifi[1] == pytest.approx(saifi[0] * 0.85) and saifi[2] == pytest.approx(saifi[0] * 0.85**2)


def test_netcdf_round_trip(tmp_path):
    import xarray as xr

    ds = gs.assess_reliability(gs.load_network("rbts2"))
    path = gs.reliability.write_netcdf(ds, tmp_path / "rel.nc")
    back = gs.reliability.read_netcdf(path)
    xr.testing.assert_allclose(ds, back)
    assert back.attrs["method"] == "analytical" and back.attrs["network_hash"] == ds.attrs["network_hash"]
    with pytest.raises(gs.InputError, match="exists"):
        gs.reliability.write_netcdf(ds, path)


def test_tidy_tables():
    ds = gs.assess_reliability(gs.load_network("rbts2"))
    zones = gs.reliability.to_dataframe(ds, "zone")
    assert list(zones.index) == ["A", "B", "system"] and "SAIDI_fault" in zones.columns
    feeders = gs.reliability.to_dataframe(ds, "feeder")
    assert list(feeders.index) == ["F1", "F2", "F3", "F4"] and "SAIDI" in feeders.columns
    loads = gs.reliability.to_dataframe(ds, "load")
    assert len(loads) == 22 and loads["lp_customers"].sum() == 1908
    comps = gs.reliability.to_dataframe(ds, "component")
    assert comps["SAIDI_share"].sum() == pytest.approx(1.0)


def test_bad_options():
    net = gs.load_network("rbts2")
    with pytest.raises(gs.InputError) as err:
        gs.assess_reliability(net, method="exact", failure_rate_scale=-1, live_work_fraction=2)
    msg = str(err.value)
    assert "method" in msg and "failure_rate_scale" in msg and "live_work_fraction" in msg


def _system_saidi(net):
    return float(gs.assess_reliability(net, validate=False)["SAIDI"].sel(zone="system"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n_bus=st.integers(2, 14), factor=st.floats(1.0, 5.0),
       which=st.sampled_from(["lambda_per_km", "repair_h"]))
def test_saidi_monotone_in_rates_and_repair(seed, n_bus, factor, which):
    rng = np.random.default_rng(seed)
    net = random_tree_feeder(rng, n_bus, n_feeders=2 if n_bus > 3 else 1)
    before = _system_saidi(net)
    line = int(rng.integers(0, len(net.line)))
    net.line.loc[line, which] *= factor
    assert _system_saidi(net) >= before - 1e-12


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n_bus=st.integers(4, 14))
def test_adding_a_tie_never_worsens_saidi(seed, n_bus):
    import pandapower as pp

    rng = np.random.default_rng(seed)
    net = random_tree_feeder(rng, n_bus, n_feeders=2)
    topo = gs.build_topology(net)
    feeder = topo.feeder_of(net, "bus").to_numpy()
    a_candidates = np.flatnonzero(feeder == 0)
    b_candidates = np.flatnonzero(feeder == 1)
    before = _system_saidi(net)
    a = int(net.bus.index[rng.choice(a_candidates)])
    b = int(net.bus.index[rng.choice(b_candidates)])
    pp.create_switch(net, a, b, et="b", type="LBS", closed=False, name="new tie", switching_h=1.0)
    assert _system_saidi(net) <= before + 1e-12


def test_load_table_carries_name_feeder_zone_and_integer_customers(rbts2_net):
    """Each load row's feeder and zone agree with the topology and the bus zones of the network itself."""
    net = rbts2_net
    loads = gs.reliability.to_dataframe(gs.assess_reliability(net), "load")
    assert list(loads.columns[:3]) == ["load_name", "feeder", "zone"]
    assert loads["lp_customers"].dtype.kind == "i"
    feeder_of = gs.build_topology(net).feeder_name_of(net, "load")
    zone_of = net.bus["zone"].reindex(net.load["bus"]).to_numpy()
    for idx, row in loads.iterrows():
        assert row["load_name"] == net.load.at[idx, "name"]
        assert row["feeder"] == feeder_of[idx]
        assert row["zone"] == zone_of[net.load.index.get_loc(idx)]
        assert row["lp_customers"] == int(net.load.at[idx, "customers"])
    # RBTS Bus 2 (reference/rbts-bus2.md): F1 serves LP1-LP7, 652 customers
    assert loads.loc[loads["feeder"] == "F1", "lp_customers"].sum() == 652


def test_prebuilt_pieces_skip_every_rebuild(rbts2_net, monkeypatch):
    """With impact= and network_hash= the engine validates, builds and hashes nothing (a study's call)."""
    import gridscope.reliability.api as api

    topo = gs.build_topology(rbts2_net)
    impact = gs.reliability.build_impact(rbts2_net, topology=topo)
    reference = gs.assess_reliability(rbts2_net)

    def forbidden(*args, **kwargs):
        raise AssertionError("rebuilt")

    for name in ("build_topology", "validate_net", "build_impact", "compute_network_hash"):
        monkeypatch.setattr(api, name, forbidden)
    ds = gs.assess_reliability(rbts2_net, topology=topo, impact=impact, network_hash="abc")
    assert ds.attrs["network_hash"] == "abc"
    assert float(ds["SAIDI"].sel(zone="system")) == float(reference["SAIDI"].sel(zone="system"))
    assert float(ds["SAIDI"].sel(zone="system")) == pytest.approx(RBTS_SYSTEM["A"][1], abs=5e-5)


def test_monte_carlo_years_default_to_the_shared_constant(rbts2_net):
    from gridscope.reliability.mc_defaults import DEFAULT_YEARS

    impact = gs.reliability.build_impact(rbts2_net)
    ds = gs.assess_reliability(rbts2_net, method="monte-carlo", seed=1, impact=impact, repair_dist="fixed")
    assert ds.attrs["years"] == DEFAULT_YEARS == 100_000
    # fixed durations: the simulated mean estimates the published case-A SAIDI (within 4 standard errors)
    s = ds.sel(zone="system")
    assert abs(float(s["SAIDI"]) - RBTS_SYSTEM["A"][1]) <= 4 * float(s["SAIDI_stderr"])


@pytest.mark.parametrize("method", ["analytical", "monte-carlo"])
def test_impact_attrs_copied(method):
    import dataclasses

    net = gs.load_network("rbts2")
    from gridscope.reliability.api import prepare_impact

    _, impact = prepare_impact(net)
    impact = dataclasses.replace(impact, attrs={"supply_boundary": "mv_busbar", "flag": True, "k": 2,
                                                "skipped": [1, 2]})
    kw = {"years": 200, "seed": 1} if method == "monte-carlo" else {}
    ds = gs.assess_reliability(net, method=method, impact=impact, **kw)
    # plain entries copied as they are (bool as 0/1 for netCDF); the list is not a plain attr and is left out
    assert ds.attrs["supply_boundary"] == "mv_busbar"
    assert ds.attrs["flag"] == 1 and ds.attrs["k"] == 2
    assert "skipped" not in ds.attrs

"""Seasonal open-capacity curves (issue 11 item 4): typical day = max over the season's days, exact open
capacity and the new customer's coincident-peak scale, each checked by an independent pandapower ``runpp``
with the load added at the element's bus; the customer shapes; the writers."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from gridscope.capacity.seasonal import (
    CUSTOMER_SHAPES,
    SEASONS,
    customer_shape,
    season_codes,
    seasonal_open_capacity,
    write_seasonal,
)
from gridscope.errors import InputError
from gridscope.settings import LOAD_PF

REL_TOL = 0.005  # the cross-check: at the open capacity the element is at its limit within 0.5 %
TAN_PHI = np.sqrt(1 / LOAD_PF**2 - 1)
# RBTS Bus 2 feeder heads (the feeder table's head sections): F1 line 0, F2 line 11, F3 line 15, F4 line 25
HEAD_LINE = {"feeder F1": 0, "feeder F2": 11, "feeder F3": 15, "feeder F4": 25}


def _year_profile(net, *, level: float = 0.7, seed: int = 1) -> pd.DataFrame:
    """A year of hourly load, one factor for every load: an evening peak (19:00), winter 1.0, summer 0.85,
    spring/autumn 0.75, 5 % day-to-day noise; ``level`` times the static p_mw."""
    idx = pd.date_range("2023-01-01", periods=8760, freq="h")
    h = idx.hour.to_numpy()
    daily = 0.55 + 0.45 * np.exp(-0.5 * ((h - 19) / 2.5) ** 2)
    month = idx.month
    season = np.where(month.isin([12, 1, 2]), 1.0, np.where(month.isin([6, 7, 8]), 0.85, 0.75))
    noise = 1 + 0.05 * np.random.default_rng(seed).standard_normal(len(idx))
    factor = level * daily * season * noise
    return pd.DataFrame(np.outer(factor, net.load["p_mw"].to_numpy()), index=idx, columns=net.load.index)


@pytest.fixture(scope="module")
def rbts2_case(rbts2_net):
    p = _year_profile(rbts2_net)
    ds = seasonal_open_capacity(rbts2_net, {("load", "p_mw"): p}, customer="commercial")
    return rbts2_net, p, ds


def _runpp_with(net, p_row: pd.Series, bus: int, added_mw: float):
    """pandapower at one profile step (q follows each load's static power factor) with ``added_mw`` at
    power factor LOAD_PF at ``bus``."""
    w = copy.deepcopy(net)
    ratio = w.load["q_mvar"] / w.load["p_mw"]
    w.load["p_mw"] = p_row.to_numpy()
    w.load["q_mvar"] = p_row.to_numpy() * ratio.to_numpy()
    if added_mw:
        pp.create_load(w, bus=bus, p_mw=added_mw, q_mvar=added_mw * TAN_PHI)
    pp.runpp(w, numba=False)  # no JIT warm-up: a 57-bus net is fast without it
    return w


def _element_loading(w, element: str) -> float:
    if element in HEAD_LINE:
        return float(w.res_line.at[HEAD_LINE[element], "loading_percent"])
    idx = int(element.split()[1])
    return float(w.res_trafo.at[idx, "loading_percent"])


def test_typical_day_is_the_max_over_the_seasons_days(rbts2_case):
    net, p, ds = rbts2_case
    assert ds.sizes == {"element": 24, "season": 4, "hour": 24} and ds.attrs["resolution"] == "hour"
    # one factor for every load, so every element's worst step in a (season, hour) is the factor's argmax
    factor = p.iloc[:, 0] / net.load["p_mw"].iloc[0]
    season = pd.Series(np.array(SEASONS)[season_codes(p.index)], index=p.index)
    worst = factor.groupby([season, p.index.hour]).idxmax()
    for element in ("feeder F2", "trafo 3 (T4)"):
        got = ds["time"].sel(element=element).to_pandas()
        for s in SEASONS:
            for h in (3, 12, 19):
                assert pd.Timestamp(got.at[s, float(h)]) == worst[(s, h)]
    # a mean day would be lower: the winter 19:00 worst step is above the winter 19:00 mean
    winter19 = factor[(season == "winter") & (p.index.hour == 19)]
    assert factor[worst[("winter", 19)]] == winter19.max() > winter19.mean()


@pytest.mark.parametrize(("element", "season", "hour"), [
    ("feeder F2", "winter", 19), ("feeder F3", "summer", 12), ("feeder F4", "autumn", 3),
    ("trafo 3 (T4)", "winter", 20), ("trafo 9 (T12)", "spring", 8)])
def test_open_capacity_is_at_the_limit_by_runpp(rbts2_case, element, season, hour):
    net, p, ds = rbts2_case
    at = ds.sel(element=element, season=season, hour=float(hour))
    step = pd.Timestamp(at["time"].item())
    bus = int(at["bus"])
    limit = float(at["limit_percent"])
    base = _runpp_with(net, p.loc[step], bus, 0.0)
    # without the new load: the dataset's load and loading are runpp's at that step
    assert _element_loading(base, element) == pytest.approx(float(at["loading_percent"]), abs=0.05)
    open_mw = float(at["own_open_capacity_mw"])  # limited by the element itself (RBTS: nothing binds above)
    assert open_mw > 0 and float(at["open_capacity_mw"]) == pytest.approx(open_mw)
    w = _runpp_with(net, p.loc[step], bus, open_mw)
    assert _element_loading(w, element) == pytest.approx(limit, rel=REL_TOL)
    # the arithmetic headroom (MVA, as the open-capacity tables): rating x limit less runpp's loading; the AC
    # answer differs from it by the power factors, the losses and the voltage drop the new load adds
    s_runpp = _element_loading(base, element) / 100 * float(at["rating_mva"])
    assert float(at["headroom_mva"]) == pytest.approx(float(at["rating_mva"]) * limit / 100 - s_runpp, abs=5e-3)
    assert open_mw != pytest.approx(float(at["headroom_mva"]) * LOAD_PF, rel=1e-3)


def test_over_the_limit_gives_zero_and_seasons_without_data_are_nan(rbts2_net):
    # two January days at the full static load: T1 (0.87 MW on 1 MVA) is above its 80 % limit at 19:00
    p = _year_profile(rbts2_net, level=1.0).iloc[:48]
    ds = seasonal_open_capacity(rbts2_net, {("load", "p_mw"): p})
    over = ds["loading_percent"] >= ds["limit_percent"]
    assert bool(over.sel(element="trafo 0 (T1)", season="winter", hour=19.0))
    assert float(np.abs(ds["open_capacity_mw"].where(over)).max()) == 0.0
    assert ds["open_capacity_mw"].sel(season=["spring", "summer", "autumn"]).isnull().all()
    assert ds["open_capacity_mw"].sel(season="winter").notnull().all()


def test_reserved_capacity_is_taken_off_at_every_hour(rbts2_net):
    p = _year_profile(rbts2_net, level=0.6).iloc[:48]
    plain = seasonal_open_capacity(rbts2_net, {("load", "p_mw"): p})
    net = copy.deepcopy(rbts2_net)
    # 0.1 MW approved at load 3 (LP4, on T4's LV bus 10, feeder F1): T4 and F1 lose 0.1 MW at every hour
    assert net.load.at[3, "bus"] == net.trafo.at[3, "lv_bus"] == 10
    net["reserved_capacity"] = pd.DataFrame({"element": ["load"], "element_index": [3], "p_mw": [0.1]})
    res = seasonal_open_capacity(net, {("load", "p_mw"): p})
    w = plain.sel(season="winter")
    r = res.sel(season="winter")
    for element in ("trafo 3 (T4)", "feeder F1"):
        assert float(res["reserved_mw"].sel(element=element)) == pytest.approx(0.1)
        np.testing.assert_allclose(r["open_capacity_mw"].sel(element=element),
                                   np.maximum(0, w["open_capacity_mw"].sel(element=element) - 0.1), atol=1e-4)
    untouched = [e for e in plain["element"].to_numpy() if e not in ("trafo 3 (T4)", "feeder F1")]
    np.testing.assert_allclose(r["open_capacity_mw"].sel(element=untouched),
                               w["open_capacity_mw"].sel(element=untouched), atol=1e-4)


@pytest.mark.parametrize("element", ["feeder F2", "trafo 3 (T4)"])
def test_customer_scale_is_the_coincident_peak_by_runpp(rbts2_case, element):
    net, p, ds = rbts2_case
    e = ds.sel(element=element)
    shape = np.asarray(CUSTOMER_SHAPES["commercial"]) / max(CUSTOMER_SHAPES["commercial"])
    k = float(e["customer_open_capacity_mw"])
    bus, limit = int(e["bus"]), float(e["limit_percent"])
    s_bind, h_bind = str(e["customer_binding_season"].item()), float(e["customer_binding_hour"])
    # at the binding hour, existing load + k x shape puts the element at its limit (runpp)
    at = e.sel(season=s_bind, hour=h_bind)
    w = _runpp_with(net, p.loc[pd.Timestamp(at["time"].item())], bus, k * shape[int(h_bind)])
    assert _element_loading(w, element) == pytest.approx(limit, rel=REL_TOL)
    # at other hours of other seasons the same customer stays within the limit
    for s, h in (("winter", 19), ("summer", 11), ("spring", 2), ("autumn", 15)):
        at = e.sel(season=s, hour=float(h))
        w = _runpp_with(net, p.loc[pd.Timestamp(at["time"].item())], bus, k * shape[h])
        assert _element_loading(w, element) <= limit * (1 + REL_TOL)
    # coincident peak, not the sum of peaks: a daytime customer on an evening-peaking element gets more
    # than the flat (worst-hour) open capacity
    flat = float(e["open_capacity_mw"].min())
    assert k > flat * 1.05


def test_customer_shapes(tmp_path):
    name, s = customer_shape("EV")
    assert name == "ev" and s.size == 24 and s.max() == 1.0 and s[20] == 1.0
    _, q = customer_shape("commercial", 96)
    assert q.size == 96 and (q[40:44] == q[40]).all()  # hour 10 held for its four quarters
    quarter = np.zeros(96)
    quarter[[5, 50]] = [2.0, 4.0]  # peak in one quarter of hour 12, a smaller one in hour 1
    _, hourly = customer_shape(quarter, 24)
    assert hourly[12] == 1.0 and hourly[1] == 0.5 and hourly.sum() == 1.5  # each hour's largest quarter
    f = tmp_path / "shape.csv"
    pd.DataFrame({"hour": range(24), "p_mw": np.arange(24, dtype=float)}).to_csv(f, index=False)
    name, s = customer_shape(f)
    assert name == "shape.csv" and s[23] == 1.0 and s[0] == 0.0
    for bad, msg in (("nuclear", "neither a built-in"), (np.ones(10), "24 \\(hourly\\) or 96"),
                     (-np.ones(24), ">= 0"), (np.zeros(24), "not all zero")):
        with pytest.raises(InputError, match=msg):
            customer_shape(bad)


def test_profiles_need_timestamps(rbts2_net):
    p = _year_profile(rbts2_net).iloc[:48].reset_index(drop=True)
    with pytest.raises(InputError, match="timestamps"):
        seasonal_open_capacity(rbts2_net, {("load", "p_mw"): p})


def test_writers(rbts2_case, tmp_path):
    xr = pytest.importorskip("xarray")
    _, _, ds = rbts2_case
    nc = write_seasonal(ds, tmp_path / "curves.nc")
    back = xr.load_dataset(nc)
    np.testing.assert_allclose(back["open_capacity_mw"], ds["open_capacity_mw"])
    assert list(back["season"].to_numpy()) == list(SEASONS)
    csv = write_seasonal(ds, tmp_path / "curves.csv")
    table = pd.read_csv(csv)
    assert len(table) == 24 * 4 * 24
    row = table[(table["element"] == "feeder F2") & (table["season"] == "summer") & (table["hour"] == 12)]
    assert row["open_capacity_mw"].item() == pytest.approx(
        float(ds["open_capacity_mw"].sel(element="feeder F2", season="summer", hour=12.0)))
    assert row["customer_open_capacity_mw"].item() == pytest.approx(
        float(ds["customer_open_capacity_mw"].sel(element="feeder F2")))
    with pytest.raises(InputError, match="exists"):
        write_seasonal(ds, tmp_path / "curves.csv")
    zh = write_seasonal(ds, tmp_path / "曲线.csv", lang="zh")
    assert zh.read_bytes().startswith(b"\xef\xbb\xbf")
    table_zh = pd.read_csv(zh, encoding="utf-8-sig")
    assert {"季节", "时刻(h)", "可开放容量(MW)", "新用户可接入峰值(MW)"} <= set(table_zh.columns)
    assert set(table_zh["季节"]) == {"冬季", "春季", "夏季", "秋季"}
    np.testing.assert_allclose(table_zh["可开放容量(MW)"], table["open_capacity_mw"])
    with pytest.raises(InputError, match="unknown language"):
        write_seasonal(ds, tmp_path / "x.csv", lang="fr")
    with pytest.raises(InputError, match=r"\.nc or \.csv"):
        write_seasonal(ds, tmp_path / "curves.xlsx")


def test_quarter_hour_resolution(rbts2_net):
    # two January days at 15-minute steps: 96 slots; an hourly customer shape holds for its four quarters
    idx = pd.date_range("2023-01-10", periods=192, freq="15min")
    factor = 0.5 + 0.1 * np.sin(np.arange(192) / 96 * 2 * np.pi)
    p = pd.DataFrame(np.outer(factor, rbts2_net.load["p_mw"].to_numpy()), index=idx, columns=rbts2_net.load.index)
    ds = seasonal_open_capacity(rbts2_net, {("load", "p_mw"): p}, customer="ev")
    assert ds.attrs["resolution"] == "quarter" and ds.sizes["hour"] == 96
    assert ds["hour"].to_numpy()[:3].tolist() == [0.0, 0.25, 0.5]
    # the worst of the two days at 06:15 is the larger factor of the two 06:15 steps
    at = idx[(idx.hour == 6) & (idx.minute == 15)]
    worst = at[np.argmax(factor[np.isin(idx, at)])]
    assert pd.Timestamp(ds["time"].sel(element="feeder F1", season="winter", hour=6.25).item()) == worst
    assert (ds["customer_shape"].to_numpy()[80:84] == 1.0).all()  # EV peak hour 20:00-21:00
    hourly = seasonal_open_capacity(rbts2_net, {("load", "p_mw"): p}, resolution="hour")
    assert hourly.sizes["hour"] == 24
    # an hour's worst step is the worst of its four quarters
    np.testing.assert_allclose(hourly["load_mva"].sel(season="winter", hour=6.0),
                               ds["load_mva"].sel(season="winter", hour=[6.0, 6.25, 6.5, 6.75]).max("hour"))


@pytest.mark.simbench
@pytest.mark.slow
def test_simbench_matches_the_time_series_peak_and_runpp(simbench_mv):
    import gridscope as gs

    sb = pytest.importorskip("simbench")
    values = sb.get_absolute_values(simbench_mv, profiles_instead_of_study_cases=True)
    times = pd.to_datetime(simbench_mv.profiles["load"]["time"], format="%d.%m.%Y %H:%M")
    # the year at full hours, on a regular clock (SimBench's labels repeat 02:00 at the end of summer time)
    clock = pd.date_range(times.iloc[0], periods=len(times[::4]), freq="h")
    hourly = {k: v.iloc[::4].set_axis(clock) for k, v in values.items()
              if isinstance(k, tuple) and k[0] in ("load", "sgen") and v.shape[1]}
    ds = seasonal_open_capacity(simbench_mv, hourly, customer="ev")
    assert ds.sizes["hour"] == 24 and ds.sizes["season"] == 4
    # the largest typical-day load of each feeder's head sections is the yearly peak of the time-series
    # tables (their feeder rating and peak are the sums over the head sections)
    cap = gs.assess_capacity(simbench_mv, profiles=hourly, include_sgen=False)
    feeders = cap.table("feeder").set_index("name")
    heads = ds.where(ds["level"] == "feeder", drop=True)
    peaks = heads["load_mva"].max(["season", "hour"]).groupby("name").sum().to_pandas()
    assert len(peaks) == len(feeders)
    for name, value in peaks.items():
        assert value == pytest.approx(feeders.at[name, "peak_mva"], rel=1e-6)
    # runpp at the binding slot with the EV customer's k x shape added: the head section is at its limit
    element = str(heads["customer_open_capacity_mw"].idxmin().item())
    e = ds.sel(element=element)
    s_b, h_b = str(e["customer_binding_season"].item()), float(e["customer_binding_hour"])
    # the station's two 63 MVA units have room: the head section binds itself there
    assert str(e["binding_level"].sel(season=s_b, hour=h_b).item()) == "feeder"
    assert (ds["level"] == "main_transformer").sum() == 2
    step_time = pd.Timestamp(e["time"].sel(season=s_b, hour=h_b).item())
    step = 4 * int(clock.get_loc(step_time))
    w = copy.deepcopy(simbench_mv)
    w.load["p_mw"] = values[("load", "p_mw")].loc[step].reindex(w.load.index).to_numpy()
    w.load["q_mvar"] = values[("load", "q_mvar")].loc[step].reindex(w.load.index).to_numpy()
    w.sgen["in_service"] = False
    k = float(e["customer_open_capacity_mw"])
    added = k * float(e["customer_shape"].sel(hour=h_b))
    pp.create_load(w, bus=int(e["bus"]), p_mw=added, q_mvar=added * TAN_PHI)
    pp.runpp(w, numba=False)
    # the curve's head section is a line ending at the bus where the customer was added
    line = int(str(e["section"].item()).split()[1])
    assert int(e["bus"]) in (simbench_mv.line.at[line, "from_bus"], simbench_mv.line.at[line, "to_bus"])
    assert float(w.res_line.at[line, "loading_percent"]) == pytest.approx(float(e["limit_percent"]), rel=REL_TOL)


def test_cli_seasonal(run, rbts2_net, tmp_path):
    p = _year_profile(rbts2_net).iloc[:48]  # two January days
    csv = tmp_path / "profiles.csv"
    frame = p.set_axis([f"load:{i}" for i in p.columns], axis=1)
    frame.insert(0, "time", p.index.strftime("%Y-%m-%d %H:%M"))
    frame.to_csv(csv, index=False)
    out = tmp_path / "curves.csv"
    r = run("capacity", "rbts2", "--profiles", str(csv), "--seasonal", str(out), "--customer-profile",
            "commercial", "--head", "2")
    assert r.exit_code == 0, r.output
    assert "feeder F1: min" in r.output and "commercial customer up to" in r.output
    table = pd.read_csv(out)
    assert set(table["season"]) == set(SEASONS) and table.loc[table["season"] == "winter",
                                                               "open_capacity_mw"].notna().all()
    r = run("capacity", "rbts2", "--seasonal", str(tmp_path / "x.nc"))
    assert r.exit_code == 4 and "--seasonal needs --profiles" in r.output
    r = run("capacity", "rbts2", "--profiles", str(csv), "--seasonal", str(tmp_path / "x.nc"),
            "--customer-profile", "nuclear")
    assert r.exit_code == 4 and "neither a built-in shape" in r.output


def test_progress_and_cancel(rbts2_net):
    from gridscope.errors import CancelledError

    p = _year_profile(rbts2_net).iloc[:48]
    records = []
    seasonal_open_capacity(rbts2_net, {("load", "p_mw"): p}, progress=records.append)
    assert records and {r.what for r in records} == {"seasonal steps"}
    assert records[-1].done == records[-1].total
    calls = []

    def cancel_in_the_search() -> bool:  # let the 48 profile steps pass, stop in the open-capacity search
        calls.append(1)
        return len(calls) > 6

    with pytest.raises(CancelledError, match="seasonal steps cancelled"):
        seasonal_open_capacity(rbts2_net, {("load", "p_mw"): p}, cancel=cancel_in_the_search)


# --- capped upstream hour by hour (issue 11 item 4): main transformer at the peak, the feeder off-peak ---------


def _station_net():
    """110 kV grid - T (10 MVA 110/10 kV, vk 10 %) - busbar 1 - feeder A: LA (0.4 kA, rating 6.93 MVA) to bus
    2 (load A, 2.5 MW flat) and distribution transformer D (2.5 MVA 10/0.4 kV) to bus 4 (load D, 0.5 MW
    flat); feeder B: LB (0.4 kA) to bus 3 (load B, evening peak). Every load at power factor 1."""
    net = pp.create_empty_network(name="station")
    b = [pp.create_bus(net, 110.0, name="HV"), pp.create_bus(net, 10.0, name="MV"),
         pp.create_bus(net, 10.0, name="A"), pp.create_bus(net, 10.0, name="B"), pp.create_bus(net, 0.4, name="LV")]
    pp.create_ext_grid(net, b[0])
    pp.create_transformer_from_parameters(net, b[0], b[1], sn_mva=10.0, vn_hv_kv=110.0, vn_lv_kv=10.0,
                                          vk_percent=10.0, vkr_percent=0.5, pfe_kw=0.0, i0_percent=0.0, name="T")
    kw = {"length_km": 1.0, "r_ohm_per_km": 0.1, "x_ohm_per_km": 0.1, "c_nf_per_km": 0.0, "max_i_ka": 0.4}
    pp.create_line_from_parameters(net, b[1], b[2], name="LA", **kw)
    pp.create_line_from_parameters(net, b[1], b[3], name="LB", **kw)
    pp.create_transformer_from_parameters(net, b[2], b[4], sn_mva=2.5, vn_hv_kv=10.0, vn_lv_kv=0.4, vk_percent=6.0,
                                          vkr_percent=1.0, pfe_kw=0.0, i0_percent=0.0, name="D")
    pp.create_load(net, b[2], p_mw=2.5, q_mvar=0.0, name="load A")
    pp.create_load(net, b[3], p_mw=1.0, q_mvar=0.0, name="load B")
    pp.create_load(net, b[4], p_mw=0.5, q_mvar=0.0, name="load D")
    return net


def _station_profile() -> pd.DataFrame:
    """Two January days, hourly: A and D flat; B 1 MW at night rising to 4 MW at 19:00."""
    idx = pd.date_range("2023-01-01", periods=48, freq="h")
    h = idx.hour.to_numpy()
    b = 1.0 + 3.0 * np.exp(-0.5 * ((h - 19) / 2.0) ** 2)
    return pd.DataFrame({0: 2.5, 1: b, 2: 0.5}, index=idx)


def _runpp_station(net, row: pd.Series, bus: int, added_mw: float):
    w = copy.deepcopy(net)
    w.load["p_mw"] = row.reindex(w.load.index).to_numpy()
    w.load["q_mvar"] = 0.0
    pp.create_load(w, bus=bus, p_mw=added_mw, q_mvar=added_mw * TAN_PHI)
    pp.runpp(w, numba=False)
    return w


@pytest.fixture(scope="module")
def station_case():
    net = _station_net()
    p = _station_profile()
    return net, p, seasonal_open_capacity(net, {("load", "p_mw"): p}, customer="ev")


def test_feeder_capped_by_main_transformer_at_the_peak_and_by_itself_off_peak(station_case):
    net, p, ds = station_case
    assert set(ds["level"].to_numpy()) == {"main_transformer", "feeder", "distribution_transformer"}
    feeder, main, dt = "feeder LA", "trafo 0 (T)", "trafo 1 (D)"
    assert str(ds["upstream"].sel(element=feeder).item()) == main
    assert str(ds["upstream"].sel(element=dt).item()) == feeder
    # 19:00 by hand: T carries 2.5 + 4.0 + 0.5 = 7.0 MW plus losses, about 7.05 MVA (70.5 %): 8 MVA at 80 % leaves
    # about 0.95 MVA; LA carries 3.0 MW (about 3.1 MVA equivalent current at 0.97 pu), 4.85 MVA at 70 % leaves about
    # 1.7 MVA -> the main transformer binds (about 0.9 MW at pf 0.95, less for the extra losses)
    at = ds.sel(element=feeder, season="winter", hour=19.0)
    assert str(at["binding_level"].item()) == "main_transformer" and str(at["binding_element"].item()) == main
    cap19, own19 = float(at["open_capacity_mw"]), float(at["own_open_capacity_mw"])
    assert 0.5 < cap19 < 1.0 < 1.4 < own19 < 1.9
    assert cap19 == pytest.approx(float(ds["open_capacity_mw"].sel(element=main, season="winter", hour=19.0)))
    # runpp at 19:00 with the capped value added at feeder A's bus: T at its 80 % (within 0.5 %), LA below 70 %
    w = _runpp_station(net, p.loc[pd.Timestamp(at["time"].item())], int(at["bus"]), cap19)
    assert float(w.res_trafo.at[0, "loading_percent"]) == pytest.approx(80.0, rel=REL_TOL)
    assert float(w.res_line.at[0, "loading_percent"]) < 70.0
    # 03:00 by hand: B is 1.0 MW, T carries about 4.0 MVA (40 %), 4 MVA left; LA still 1.7 MVA -> the feeder binds
    at = ds.sel(element=feeder, season="winter", hour=3.0)
    assert str(at["binding_level"].item()) == "feeder" and str(at["binding_element"].item()) == feeder
    cap3 = float(at["open_capacity_mw"])
    assert cap3 == float(at["own_open_capacity_mw"]) and 1.4 < cap3 < 1.9
    w = _runpp_station(net, p.loc[pd.Timestamp(at["time"].item())], int(at["bus"]), cap3)
    assert float(w.res_line.at[0, "loading_percent"]) == pytest.approx(70.0, rel=REL_TOL)
    assert float(w.res_trafo.at[0, "loading_percent"]) < 80.0
    # the main transformer's own curve is never capped; feeder B (4 MW at 19:00, about 0.8 MW left on LB) binds
    # itself below the station's value
    winter = ds.sel(season="winter")
    assert (winter["binding_element"].sel(element=main) == main).all()
    assert str(winter["binding_level"].sel(element="feeder LB", hour=19.0).item()) == "feeder"
    assert float(winter["open_capacity_mw"].sel(element="feeder LB", hour=19.0)) < cap19


def test_distribution_transformer_capped_through_its_feeder(station_case):
    net, p, ds = station_case
    dt = "trafo 1 (D)"
    # D (2.5 MVA at 80 % = 2.0 MVA, 0.5 MW on it): about 1.5 MVA of its own. At 19:00 the station's ~0.9 MW binds
    # through feeder A; at 03:00 D's own 1.5 MVA is below feeder A's ~1.7 MVA: D binds
    at = ds.sel(element=dt, season="winter", hour=19.0)
    assert str(at["binding_level"].item()) == "main_transformer"
    assert float(at["open_capacity_mw"]) == pytest.approx(
        float(ds["open_capacity_mw"].sel(element="feeder LA", season="winter", hour=19.0)))
    at = ds.sel(element=dt, season="winter", hour=3.0)
    assert str(at["binding_level"].item()) == "distribution_transformer"
    cap3 = float(at["open_capacity_mw"])
    w = _runpp_station(net, p.loc[pd.Timestamp(at["time"].item())], int(at["bus"]), cap3)
    assert float(w.res_trafo.at[1, "loading_percent"]) == pytest.approx(80.0, rel=REL_TOL)
    assert float(w.res_line.at[0, "loading_percent"]) < 70.0 and float(w.res_trafo.at[0, "loading_percent"]) < 80.0
    # the customer's coincident peak uses the capped curve: k x shape(h) <= open capacity at every hour
    k = float(ds["customer_open_capacity_mw"].sel(element=dt))
    shape = ds["customer_shape"].to_numpy()
    cap = ds["open_capacity_mw"].sel(element=dt, season="winter").to_numpy()
    assert (k * shape <= cap + 1e-9).all()


def test_capped_curves_in_the_csv(station_case, tmp_path):
    _, _, ds = station_case
    path = write_seasonal(ds, tmp_path / "c.csv", lang="zh")
    back = pd.read_csv(path, encoding="utf-8-sig")
    row = back[(back["元件"] == "feeder LA") & (back["季节"] == "冬季") & (back["时刻(h)"] == 19)]
    assert row["受限环节"].item() == "主变" and row["受限元件"].item() == "trafo 0 (T)"
    assert row["自身可开放容量(MW)"].item() > row["可开放容量(MW)"].item()
    write_seasonal(ds, tmp_path / "c.nc")  # the text variables are written too

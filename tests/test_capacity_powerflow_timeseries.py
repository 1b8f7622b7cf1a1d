"""Time-series loading: the batch engine (power-grid-model) against pandapower ``runpp`` on sampled steps,
running peaks and hours above, profile readers and their error messages, non-convergence, cancel."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from gridscope.capacity.flags import Thresholds
from gridscope.capacity.powerflow import run_timeseries
from gridscope.capacity.timeseries import coerce_profiles, read_profile_csv
from gridscope.errors import CancelledError, ConvergenceError, InputError

V_TOL_PU = 1e-4  # the cross-check tolerances
LOADING_TOL_PP = 0.1


def _runpp_at(net, values: dict, step, *, scaling: float = 1.0):
    """pandapower at one step, written by hand: the profile value replaces p_mw / q_mvar."""
    w = copy.deepcopy(net)
    for (element, column), df in values.items():
        if df.shape[1]:
            w[element].loc[df.columns, column] = df.loc[step].to_numpy()
    w.load["scaling"] = w.load["scaling"] * scaling
    pp.runpp(w)
    return w


@pytest.fixture(scope="module")
def sb_values(simbench_mv):
    sb = pytest.importorskip("simbench")
    return sb.get_absolute_values(simbench_mv, profiles_instead_of_study_cases=True)


@pytest.fixture(scope="module")
def sb_profiles(simbench_mv):
    """gridscope's reading of the SimBench profiles, prepared once for the module."""
    return coerce_profiles(simbench_mv, "simbench")


@pytest.mark.simbench
def test_batch_equals_runpp_on_sampled_steps_simbench(simbench_mv, sb_values, sb_profiles):
    n = len(sb_values[("load", "p_mw")])
    total = sb_values[("load", "p_mw")].sum(axis=1).to_numpy()
    steps = sorted({0, 4000, 17000, 26000, n - 1, int(np.argmax(total))})
    for step in steps:
        pk = run_timeseries(simbench_mv, sb_profiles, time_steps=[step])
        ref = _runpp_at(simbench_mv, sb_values, step)
        assert np.abs(pk.bus["vm_max_pu"] - ref.res_bus["vm_pu"]).max() <= V_TOL_PU
        assert np.abs(pk.bus["vm_min_pu"] - ref.res_bus["vm_pu"]).max() <= V_TOL_PU
        assert np.abs(pk.line["loading_percent"] - ref.res_line["loading_percent"]).max() <= LOADING_TOL_PP
        assert np.abs(pk.trafo["loading_percent"] - ref.res_trafo["loading_percent"]).max() <= LOADING_TOL_PP
        assert np.abs(pk.ext_grid["p_mw"] - ref.res_ext_grid["p_mw"]).max() <= 1e-3
        assert (pk.line["time"] == pk.bus["time"].iloc[0]).all()


@pytest.mark.simbench
def test_peaks_and_hours_over_a_window(simbench_mv, sb_values, sb_profiles):
    steps = list(range(32995, 33007))  # three hours around the yearly line peak (9 December, 18:15)
    th = Thresholds(line_heavy=30.0, trafo_heavy=15.0)
    pk = run_timeseries(simbench_mv, sb_profiles, time_steps=steps, thresholds=th, chunk_size=5)
    refs = [_runpp_at(simbench_mv, sb_values, s) for s in steps]
    line = np.array([r.res_line["loading_percent"].to_numpy() for r in refs])
    trafo = np.array([r.res_trafo["loading_percent"].to_numpy() for r in refs])
    vm = np.array([r.res_bus["vm_pu"].to_numpy() for r in refs])
    assert pk.n_steps == len(steps) and pk.step_h == 0.25 and pk.method == "timeseries:pgm"
    np.testing.assert_allclose(pk.line["loading_percent"], line.max(axis=0), atol=LOADING_TOL_PP)
    np.testing.assert_allclose(pk.trafo["loading_percent"], trafo.max(axis=0), atol=LOADING_TOL_PP)
    np.testing.assert_allclose(pk.bus["vm_min_pu"], vm.min(axis=0), atol=V_TOL_PU)
    np.testing.assert_allclose(pk.bus["vm_max_pu"], vm.max(axis=0), atol=V_TOL_PU)
    # the step of the peak: the most loaded line's peak time is the runpp argmax
    worst = int(np.argmax(line.max(axis=0)))
    time = pd.to_datetime(simbench_mv.profiles["load"]["time"], format="%d.%m.%Y %H:%M")
    assert pk.line["time"].iloc[worst] == time.iloc[steps[int(np.argmax(line[:, worst]))]]
    # hours above: counted steps x 0.25 h
    ha = pk.hours_above.set_index(["element", "kind", "index"]).sort_index()["hours_above"]
    expected_line = (line >= 30.0).sum(axis=0) * 0.25
    np.testing.assert_array_equal(ha.loc["line", "heavy"].reindex(simbench_mv.line.index), expected_line)
    expected_trafo = (trafo >= 15.0).sum(axis=0) * 0.25
    np.testing.assert_array_equal(ha.loc["trafo", "heavy"].reindex(simbench_mv.trafo.index), expected_trafo)
    # the thresholds do bite (some steps above, some below), so the comparison means something
    assert 0 < expected_line.max() < 3.0 and 0 < expected_trafo.max()


@pytest.mark.slow
@pytest.mark.simbench
def test_full_year_simbench(simbench_mv, sb_values):
    calls = []
    pk = run_timeseries(simbench_mv, "simbench", progress=lambda r: calls.append((r.done, r.total)), chunk_size=8192)
    n = len(sb_values[("load", "p_mw")])
    assert pk.n_steps == n == 35136 and pk.step_h == 0.25
    # progress records (gridscope.progress): throttled, increasing, the last one complete
    assert calls[-1] == (n, n) and all(a[0] < b[0] for a, b in itertools.pairwise(calls))
    # the yearly peak is at least the loading of any single step checked by runpp
    step = int(np.argmax(sb_values[("load", "p_mw")].sum(axis=1).to_numpy()))
    ref = _runpp_at(simbench_mv, sb_values, step)
    assert (pk.line["loading_percent"] >= ref.res_line["loading_percent"] - LOADING_TOL_PP).all()
    assert (pk.bus["vm_min_pu"] <= ref.res_bus["vm_pu"] + V_TOL_PU).all()
    # the bus table's snapshot is the system peak step
    assert np.abs(pk.bus["vm_pu"] - ref.res_bus["vm_pu"]).max() <= V_TOL_PU
    assert pk.bus["time"].iloc[0] == pd.Timestamp(pk.time_index[step])


def _oberrhein_profiles(net, n=6, seed=3, high=2.2):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-07-01", periods=n, freq="h")
    p = pd.DataFrame(net.load["p_mw"].to_numpy() * rng.uniform(0.4, high, (n, len(net.load))), index=idx,
                     columns=net.load.index)
    g = pd.DataFrame(net.sgen["p_mw"].to_numpy() * rng.uniform(0.0, 1.0, (n, len(net.sgen))), index=idx,
                     columns=net.sgen.index)
    return {("load", "p_mw"): p, ("sgen", "p_mw"): g}


def test_batch_equals_runpp_mv_oberrhein(load_builtin):
    net = load_builtin("mv_oberrhein")
    net.sgen["scaling"] = 1.0
    values = _oberrhein_profiles(net)
    pk = run_timeseries(net, values)
    line, trafo, vm = [], [], []
    for step in values[("load", "p_mw")].index:
        w = copy.deepcopy(net)
        w.load["p_mw"] = values[("load", "p_mw")].loc[step].to_numpy()
        w.load["q_mvar"] = net.load["q_mvar"] * w.load["p_mw"] / net.load["p_mw"]  # constant power factor
        w.sgen["p_mw"] = values[("sgen", "p_mw")].loc[step].to_numpy()
        pp.runpp(w)
        line.append(w.res_line["loading_percent"].to_numpy())
        trafo.append(w.res_trafo["loading_percent"].to_numpy())
        vm.append(w.res_bus["vm_pu"].to_numpy())
    np.testing.assert_allclose(pk.line["loading_percent"], np.max(line, axis=0), atol=LOADING_TOL_PP)
    np.testing.assert_allclose(pk.trafo["loading_percent"], np.max(trafo, axis=0), atol=LOADING_TOL_PP)
    np.testing.assert_allclose(pk.bus["vm_min_pu"], np.min(vm, axis=0), atol=V_TOL_PU)
    assert np.max(trafo) > 80  # a loaded case, not a trivial one


def test_pandapower_engine_agrees(load_builtin):
    net = load_builtin("mv_oberrhein")
    values = _oberrhein_profiles(net, n=3)
    a = run_timeseries(net, values, engine="pgm")
    b = run_timeseries(net, values, engine="pandapower")
    assert b.method == "timeseries:pandapower"
    np.testing.assert_allclose(a.line["loading_percent"], b.line["loading_percent"], atol=LOADING_TOL_PP)
    np.testing.assert_allclose(a.bus["vm_min_pu"], b.bus["vm_min_pu"], atol=V_TOL_PU)


def test_network_not_modified(load_builtin):
    net = load_builtin("mv_oberrhein")
    before = {k: net[k].copy() for k in ("load", "sgen", "res_line")}
    run_timeseries(net, _oberrhein_profiles(net, n=2))
    for k, df in before.items():
        pd.testing.assert_frame_equal(net[k], df)


# ------------------------------------------------------------------------------------------ CSV profiles
def _case33(load_builtin):
    net = load_builtin("case33bw")
    net.load["name"] = [f"LP{i}" for i in net.load.index]
    return net


def test_csv_profiles(load_builtin, tmp_path):
    net = _case33(load_builtin)
    n = 4
    time = pd.date_range("2024-01-01", periods=n, freq="30min")
    frame = {"time": time.strftime("%Y-%m-%d %H:%M")}
    for i in net.load.index:
        col = f"LP{i}" if i % 2 else f"load:{i}"  # by name and by index
        frame[col] = net.load.at[i, "p_mw"] * np.linspace(0.5, 1.2, n)
    frame["load:3:q_mvar"] = [0.0, 0.01, 0.02, 0.03]
    path = tmp_path / "prof.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    prof = read_profile_csv(path, net)
    assert prof.n_steps == n and prof.step_h == 0.5
    rows = np.arange(n)
    p = prof.block(net, "load", "p_mw", rows)
    np.testing.assert_allclose(p[:, 1], net.load.at[1, "p_mw"] * np.linspace(0.5, 1.2, n))
    q = prof.block(net, "load", "q_mvar", rows)
    np.testing.assert_allclose(q[:, 3], [0.0, 0.01, 0.02, 0.03])
    np.testing.assert_allclose(q[:, 4], p[:, 4] * net.load.at[4, "q_mvar"] / net.load.at[4, "p_mw"])
    pk = run_timeseries(net, path)
    w = copy.deepcopy(net)
    w.load["p_mw"], w.load["q_mvar"] = p[-1], q[-1]
    pp.runpp(w)  # the last step is the heaviest
    np.testing.assert_allclose(pk.line["loading_percent"], w.res_line["loading_percent"], atol=LOADING_TOL_PP)
    np.testing.assert_allclose(pk.bus["vm_min_pu"], w.res_bus["vm_pu"], atol=V_TOL_PU)
    assert pk.hours_above is not None and pk.line["time"].iloc[0] == time[-1]


def test_bad_csv_reports_everything_at_once(load_builtin, tmp_path):
    net = _case33(load_builtin)
    path = tmp_path / "bad.csv"
    path.write_text("when,load:0,load:999,nonsense,load:x,LP1,load:1,load:2:volts,load:3\n"
                    "1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,abc\n"
                    "2,,0.1,0.1,0.1,0.1,0.1,0.1,0.2\n")
    with pytest.raises(InputError) as info:
        read_profile_csv(path, net)
    msg = str(info.value)
    for part in ("no 'time' column", "no load with index 999", "'nonsense'", "'x' is not an element index",
                 "both give load 1", "unknown quantity 'volts'", "non-numeric", "'abc'", "missing value",
                 "no active-power profile", "missing='static'"):
        assert part in msg, part


def test_misaligned_times_and_frames(load_builtin, tmp_path):
    net = _case33(load_builtin)
    cols = {f"load:{i}": [0.1, 0.1, 0.1] for i in net.load.index}
    path = tmp_path / "irregular.csv"
    pd.DataFrame({"time": ["2024-01-01 00:00", "2024-01-01 00:15", "2024-01-01 01:00"], **cols}).to_csv(
        path, index=False)
    with pytest.raises(InputError, match="irregular"):
        read_profile_csv(path, net)
    pd.DataFrame({"time": ["2024-01-01 00:00", "2024-01-01 00:15", "2024-01-01 00:15"], **cols}).to_csv(
        path, index=False)
    with pytest.raises(InputError, match="duplicate time"):
        read_profile_csv(path, net)
    idx = pd.RangeIndex(3)
    p = pd.DataFrame(0.1, index=idx, columns=net.load.index)
    q = pd.DataFrame(0.01, index=pd.RangeIndex(1, 4), columns=net.load.index)
    g = pd.DataFrame(0.1, index=idx, columns=[77])
    with pytest.raises(InputError) as info:
        coerce_profiles(net, {("load", "p_mw"): p, ("load", "q_mvar"): q, ("sgen", "p_mw"): g})
    msg = str(info.value)
    assert "misaligned" in msg and "('load', 'q_mvar')" in msg and "no sgen with index 77" in msg


def test_missing_static_keeps_static_values(load_builtin):
    net = _case33(load_builtin)
    p = pd.DataFrame({0: [0.5, 0.6]})
    with pytest.raises(InputError, match="no active-power profile for 31"):
        coerce_profiles(net, {("load", "p_mw"): p})
    prof = coerce_profiles(net, {("load", "p_mw"): p}, missing="static")
    block = prof.block(net, "load", "p_mw", np.arange(2))
    np.testing.assert_allclose(block[:, 0], [0.5, 0.6])
    np.testing.assert_allclose(block[:, 1:], np.tile(net.load["p_mw"].to_numpy()[1:], (2, 1)))


def test_no_simbench_profiles(load_builtin):
    with pytest.raises(InputError, match="no SimBench profiles"):
        run_timeseries(load_builtin("case33bw"), "simbench")


# ------------------------------------------------------------------------------------ failures and control
def test_nonconvergence_names_time_step(load_builtin):
    net = load_builtin("mv_oberrhein")
    values = _oberrhein_profiles(net, n=5, high=1.0)
    bad_time = values[("load", "p_mw")].index[3]
    values[("load", "p_mw")].loc[bad_time] *= 40.0
    with pytest.raises(ConvergenceError) as info:
        run_timeseries(net, values)
    msg = str(info.value)
    assert "1 time step(s)" in msg and str(bad_time) in msg and "step 3" in msg
    assert "likely cause" in msg and "load far above ratings" in msg
    assert info.value.step_positions == [3]


def test_cancel(simbench_mv, sb_profiles):
    seen = []
    with pytest.raises(CancelledError, match=r"after \d+ of 300") as err:
        run_timeseries(simbench_mv, sb_profiles, time_steps=slice(0, 300), chunk_size=100,
                       progress=lambda r: seen.append(r.done), cancel=lambda: len(seen) >= 1)
    # cancelled at the first check after the first chunk: nothing more was run
    assert len(seen) == 1 and 0 < seen[0] <= 100 and f"after {seen[0]:,.0f} of 300" in str(err.value)


def test_unsupported_elements_point_to_pandapower_engine(load_builtin):
    net = load_builtin("mv_oberrhein")
    pp.create_gen(net, int(net.load["bus"].iloc[0]), p_mw=0.5, vm_pu=1.0)
    values = _oberrhein_profiles(net, n=2)
    with pytest.raises(InputError, match=r"in-service gen.*engine='pandapower'"):
        run_timeseries(net, values)
    pk = run_timeseries(net, values, engine="pandapower")
    assert pk.n_steps == 2 and np.isfinite(pk.line["loading_percent"]).all()


def test_bad_options(simbench_mv, sb_profiles):
    with pytest.raises(InputError, match="unknown power-flow engine"):
        run_timeseries(simbench_mv, sb_profiles, engine="matpower")
    with pytest.raises(InputError, match="out of range"):
        run_timeseries(simbench_mv, sb_profiles, time_steps=[10**6])


def test_unsupplied_part_matches_pandapower(load_builtin):
    """An opened line end and an out-of-service line cut 12 buses off: NaN voltages and loadings, as runpp."""
    net = load_builtin("case33bw")
    pp.create_switch(net, int(net.line.at[5, "from_bus"]), 5, et="l", closed=False)
    net.line.loc[10, "in_service"] = False
    values = {("load", "p_mw"): pd.DataFrame([net.load["p_mw"].to_numpy()] * 2, columns=net.load.index,
                                             index=pd.date_range("2024-01-01", periods=2, freq="h"))}
    pk = run_timeseries(net, values)
    ref = copy.deepcopy(net)
    pp.runpp(ref)
    assert pk.bus["vm_min_pu"].isna().sum() == ref.res_bus["vm_pu"].isna().sum() == 12
    np.testing.assert_allclose(pk.bus["vm_min_pu"], ref.res_bus["vm_pu"], atol=V_TOL_PU)  # NaN where NaN
    np.testing.assert_allclose(pk.line["loading_percent"], ref.res_line["loading_percent"], atol=LOADING_TOL_PP)
    assert pk.line["loading_percent"].isna().sum() == 14
    np.testing.assert_allclose(pk.bus["p_mw"], ref.res_bus["p_mw"], atol=1e-6)


# ------------------------------------------------------------------------------- voltage band per bus
def _lv_two_levels():
    """10 kV source (1.0 pu), two 1 MVA transformers (vk 10 %, vkr 3 %): to bus 1 at 0.23 kV (220 V
    single-phase by its voltage: +7 % / -10 %) and to bus 2 at 0.4 kV (three-phase: ±7 %); per LV bus a load
    (pf 0.95) and an sgen (p = q, raises the voltage)."""
    net = pp.create_empty_network()
    mv = pp.create_bus(net, 10.0, name="MV")
    for vn, name in ((0.23, "LV230"), (0.4, "LV400")):
        b = pp.create_bus(net, vn, name=name)
        pp.create_transformer_from_parameters(net, mv, b, 1.0, 10.0, vn, 3.0, 10.0, 0.0, 0.2, name=f"T{name}")
        pp.create_load(net, b, p_mw=0.1, q_mvar=0.1 * np.tan(np.arccos(0.95)), name=f"L{name}")
        pp.create_sgen(net, b, p_mw=0.0, q_mvar=0.0, name=f"G{name}")
    pp.create_ext_grid(net, mv, vm_pu=1.0)
    return net


def test_hours_outside_the_band_use_each_bus_own_limits():
    """Four hours: sgens at 0.75 MW + 0.75 Mvar (LV at 1.086 pu), loads 1.2 MW (0.913 pu), 1.5 MW (0.885 pu),
    0.2 MW (0.987 pu); both LV buses see the same voltage (identical transformers). Outside at 0.23 kV
    (0.90..1.07): hours 0 and 2 = 2 h; at 0.4 kV (0.93..1.07): hours 0, 1, 2 = 3 h. The voltages are from runpp."""
    net = _lv_two_levels()
    idx = pd.date_range("2024-07-01", periods=4, freq="h")
    load_p = pd.DataFrame(np.repeat([[0.0], [1.2], [1.5], [0.2]], 2, axis=1), index=idx, columns=net.load.index)
    sgen_pq = pd.DataFrame(np.repeat([[0.75], [0.0], [0.0], [0.0]], 2, axis=1), index=idx,
                           columns=net.sgen.index)
    values = {("load", "p_mw"): load_p, ("sgen", "p_mw"): sgen_pq, ("sgen", "q_mvar"): sgen_pq}
    vm = []
    for step in idx:
        w = copy.deepcopy(net)
        w.load["p_mw"] = load_p.loc[step].to_numpy()
        w.load["q_mvar"] = w.load["p_mw"] * np.tan(np.arccos(0.95))
        w.sgen["p_mw"] = w.sgen["q_mvar"] = sgen_pq.loc[step].to_numpy()
        pp.runpp(w, numba=False)
        vm.append(w.res_bus["vm_pu"].to_numpy())
    vm = np.array(vm)
    # the constructed hours: 1.08 > 1.07 (outside everywhere), 0.913 (inside at 220 V only), 0.885, 0.987
    np.testing.assert_allclose(vm[:, 1], [1.0855, 0.9129, 0.8854, 0.9873], atol=2e-4)
    np.testing.assert_allclose(vm[:, 2], vm[:, 1], atol=1e-9)
    outside_230 = ((vm[:, 1] < 0.90) | (vm[:, 1] > 1.07)).sum()
    outside_400 = ((vm[:, 2] < 0.93) | (vm[:, 2] > 1.07)).sum()
    assert (outside_230, outside_400) == (2, 3)

    def hours(pk):
        ha = pk.hours_above[pk.hours_above["element"] == "bus"].set_index("index")
        return ha["hours_above"].to_dict(), ha["threshold_percent"].to_dict()

    pk = run_timeseries(net, values)
    np.testing.assert_allclose(pk.bus["vm_max_pu"], vm.max(axis=0), atol=V_TOL_PU)
    got, thr = hours(pk)
    assert got == {0: 0.0, 1: float(outside_230), 2: float(outside_400)}
    assert thr == pytest.approx({0: 7.0, 1: 10.0, 2: 7.0})  # the wider side, the key flag_loading looks up
    # the flags carry these hours (same band key)
    from gridscope.capacity.flags import flag_loading

    flags = flag_loading(net, pk, topology=False)
    bus1 = flags[(flags["element"] == "bus") & (flags["index"] == 1)]
    assert sorted(bus1["severity"]) == ["overvoltage", "undervoltage"] and list(bus1["hours_above"]) == [2.0, 2.0]
    # the phases column wins: bus 1 declared three-phase, bus 2 single-phase, swaps the counts
    net.bus["phases"] = [np.nan, 3, 1]
    got, _ = hours(run_timeseries(net, values))
    assert got == {0: 0.0, 1: float(outside_400), 2: float(outside_230)}

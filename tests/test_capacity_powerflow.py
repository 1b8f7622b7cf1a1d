"""Loading by power flow, snapshot: equal to pandapower's own ``res_*`` tables; the net is never modified;
non-convergence is a ConvergenceError with a likely cause."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from gridscope.capacity.powerflow import (
    BUS_COLUMNS,
    LINE_COLUMNS,
    TRAFO_COLUMNS,
    PeakLoading,
    diagnose_nonconvergence,
    planning_loading,
    run_snapshot,
)
from gridscope.errors import ConvergenceError, InputError


def _reference(net, *, scaling=1.0, sgen=False):
    """pandapower's own power flow, set up by hand (independent of gridscope's preparation); pandapower's
    default numba path, the cross-check of the numba-free runpp gridscope uses."""
    ref = copy.deepcopy(net)
    ref.load["scaling"] = ref.load["scaling"] * scaling
    if not sgen:
        ref.sgen["in_service"] = False
    pp.runpp(ref)
    return ref


def _assert_equal_to_res(pk: PeakLoading, ref) -> None:
    np.testing.assert_allclose(pk.line["loading_percent"], ref.res_line["loading_percent"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pk.line["i_ka"], ref.res_line["i_ka"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(pk.line["p_from_mw"], ref.res_line["p_from_mw"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pk.trafo["loading_percent"], ref.res_trafo["loading_percent"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pk.trafo["p_hv_mw"], ref.res_trafo["p_hv_mw"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pk.bus["vm_pu"], ref.res_bus["vm_pu"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(pk.bus["p_mw"], ref.res_bus["p_mw"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pk.ext_grid["p_mw"], ref.res_ext_grid["p_mw"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("scaling", [1.0, 1.4])
def test_snapshot_equals_res_tables_mv_oberrhein(load_builtin, scaling):
    net = load_builtin("mv_oberrhein")
    pk = run_snapshot(net, scaling=scaling)
    ref = _reference(net, scaling=scaling)
    _assert_equal_to_res(pk, ref)
    # loading semantics written out: line max_i_ka x df x parallel, trafo sn_mva-based
    i_max = net.line["max_i_ka"] * net.line["df"] * net.line["parallel"]
    np.testing.assert_allclose(pk.line["loading_percent"], ref.res_line["i_ka"] / i_max * 100, atol=1e-9)
    s_hv = np.hypot(ref.res_trafo["p_hv_mw"], ref.res_trafo["q_hv_mvar"])
    assert (pk.trafo["loading_percent"] > 0.9 * s_hv / net.trafo["sn_mva"] * 100).all()
    assert pk.method == "snapshot" and pk.n_steps == 1 and pk.scaling == scaling
    assert list(pk.line.columns) == LINE_COLUMNS and list(pk.trafo.columns) == TRAFO_COLUMNS
    assert list(pk.bus.columns) == BUS_COLUMNS
    assert pk.line["time"].isna().all() and pk.hours_above is None
    assert pk.line.index.equals(net.line.index) and pk.bus.index.equals(net.bus.index)


def test_scaling_raises_loading(load_builtin):
    net = load_builtin("mv_oberrhein")
    lo, hi = run_snapshot(net, scaling=1.0), run_snapshot(net, scaling=1.5)
    busy = lo.line["loading_percent"] > 5
    assert (hi.line.loc[busy, "loading_percent"] > lo.line.loc[busy, "loading_percent"] * 1.3).all()


@pytest.mark.simbench
def test_snapshot_equals_res_tables_simbench(simbench_mv):
    pk = run_snapshot(simbench_mv)
    _assert_equal_to_res(pk, _reference(simbench_mv))


def test_include_sgen(load_builtin):
    net = load_builtin("cigre_mv")
    net.sgen["scaling"] = 1.0
    if not len(net.sgen):  # the no-DER CIGRE grid: add one generator
        pp.create_sgen(net, int(net.load["bus"].iloc[0]), p_mw=2.0, q_mvar=0.0)
    off, on = run_snapshot(net), run_snapshot(net, include_sgen=True)
    _assert_equal_to_res(on, _reference(net, sgen=True))
    assert on.ext_grid["p_mw"].sum() < off.ext_grid["p_mw"].sum() - 1.0
    assert on.include_sgen and not off.include_sgen


def test_network_not_modified(load_builtin):
    net = load_builtin("mv_oberrhein")
    before = {k: net[k].copy() for k in ("load", "sgen", "line", "trafo", "res_line", "res_bus")}
    run_snapshot(net, scaling=1.3)
    for k, df in before.items():
        pd.testing.assert_frame_equal(net[k], df)


def test_planning_loading_is_snapshot_without_profiles(load_builtin):
    net = load_builtin("mv_oberrhein")
    a, b = planning_loading(net, scaling=1.2), run_snapshot(net, scaling=1.2)
    pd.testing.assert_frame_equal(a.line, b.line)


def test_bad_scaling():
    with pytest.raises(InputError, match="scaling"):
        run_snapshot(pp.create_empty_network(), scaling=-1.0)


def test_nonconvergence_names_cause(load_builtin):
    net = load_builtin("mv_oberrhein")
    with pytest.raises(ConvergenceError) as info:
        run_snapshot(net, scaling=30.0)
    msg = str(info.value)
    assert "did not converge" in msg and "scaling 30" in msg and "likely cause" in msg
    assert "load far above ratings" in msg and "HV/MV Transformer 0" in msg
    assert "voltage collapse" in msg


def test_diagnose_islanded_and_bad_data():
    net = pp.create_empty_network()
    b0, b1, b2 = (pp.create_bus(net, 20.0, name=f"b{i}") for i in range(3))
    pp.create_ext_grid(net, b0)
    pp.create_line_from_parameters(net, b0, b1, 1.0, r_ohm_per_km=0.1, x_ohm_per_km=0.1, c_nf_per_km=0,
                                   max_i_ka=0.3)
    pp.create_load(net, b1, p_mw=2000.0)  # hopeless: 2 GW over one 20 kV line
    pp.create_load(net, b2, p_mw=1.0, name="orphan")  # b2 is connected to nothing
    text = diagnose_nonconvergence(net)
    assert text.startswith("likely cause: ")
    assert "islanded" in text and "bus 2 'b2'" in text
    assert "load far above ratings" in text and "line 0" in text


@pytest.mark.parametrize("name", ["rbts2", "mv_oberrhein"])
def test_pgm_snapshot_close_to_runpp(load_builtin, name):
    """The power-grid-model snapshot against pandapower's own (numba) runpp: the models differ slightly (a
    stiff 1e15 VA source for the ideal slack, pi- vs T-model transformers), measured 2.7e-4 pp of loading and
    3.2e-6 pu of voltage at most on mv_oberrhein; the tolerances leave a factor of 3."""
    net = load_builtin(name)
    pk = run_snapshot(net, engine="pgm")
    ref = _reference(net)
    np.testing.assert_allclose(pk.line["loading_percent"], ref.res_line["loading_percent"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(pk.trafo["loading_percent"], ref.res_trafo["loading_percent"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(pk.bus["vm_pu"], ref.res_bus["vm_pu"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(pk.ext_grid["p_mw"], ref.res_ext_grid["p_mw"], rtol=0, atol=1e-4)
    assert list(pk.line.columns) == LINE_COLUMNS and list(pk.trafo.columns) == TRAFO_COLUMNS
    with pytest.raises(InputError, match="unknown snapshot engine"):
        run_snapshot(net, engine="fast")

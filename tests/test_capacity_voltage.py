"""Per-level voltage bands of GB/T 12325-2008 (capacity/voltage.py), checked against the standard's wording."""

import pytest
from gridscope.capacity.voltage import VoltageBands, voltage_band_pu


def _ok(vn_kv, vm_pu, **kw):
    lo, hi = voltage_band_pu(vn_kv, **kw)
    return lo <= vm_pu <= hi


def test_110kv_at_106_is_within_the_35kv_and_above_rule():
    # GB/T 12325-2008 4.1: one snapshot deviation +6 % <= 10 % of nominal.
    assert _ok(110.0, 1.06)
    assert _ok(35.0, 0.91)
    assert not _ok(110.0, 1.11)


def test_10kv_at_0925_violates_the_7_percent_rule():
    # 4.2: 20 kV and below, ±7 %: 0.925 < 0.93.
    assert not _ok(10.0, 0.925)
    assert _ok(10.0, 0.935)
    assert not _ok(20.0, 1.075)


def test_220v_single_phase_is_plus7_minus10():
    # 4.3: 220 V single-phase +7 % / -10 %: 198 V passes, 236 V (1.0727) fails.
    assert _ok(0.22, 198.0 / 220.0, single_phase=True)
    assert not _ok(0.22, 236.0 / 220.0, single_phase=True)
    assert not _ok(0.4, 0.92)  # 0.4 kV three-phase is ±7 %


def test_configurable_and_validates():
    assert voltage_band_pu(10.0, bands=VoltageBands(mv_pu=0.05)) == pytest.approx((0.95, 1.05))
    with pytest.raises(ValueError):
        voltage_band_pu(0.0)

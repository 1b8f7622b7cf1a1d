"""Expected CEMI-n (analytical): hand computations and the published RBTS Bus 2 rates."""

from __future__ import annotations

import math

import gridscope as gs
import numpy as np
import pytest
from gridscope.errors import InputError
from gridscope.reliability.analytical import analytical_indices
from gridscope.reliability.frequent import cemi_by_zone, frequent_load_points, prob_more_than


def test_cemi_hand_computation():
    # Two load points in zone A: λ = 1/yr with 10 customers, λ = 2/yr with 30 customers; one in zone B:
    # λ = 0.5/yr, 20 customers. P(N > 1) = 1 - e^-λ (1 + λ):
    #   λ=1: 1 - 2/e = 0.264241; λ=2: 1 - 3/e² = 0.593994; λ=0.5: 1 - 1.5 e^-0.5 = 0.090204
    # CEMI-1(A) = (10·0.264241 + 30·0.593994) / 40 = 0.511556
    # CEMI-1(system) = (2.642411 + 17.819823 + 20·0.090204) / 60 = 0.371103
    p1, p2, p3 = 1 - 2 / math.e, 1 - 3 / math.e**2, 1 - 1.5 * math.exp(-0.5)
    s = cemi_by_zone(np.array([1.0, 2.0, 0.5]), np.array([10.0, 30.0, 20.0]), np.array([0, 0, 1]),
                     ["A", "B"], 1)
    assert s["A"] == pytest.approx((10 * p1 + 30 * p2) / 40)
    assert s["A"] == pytest.approx(0.511556, abs=1e-6)
    assert s["B"] == pytest.approx(p3)
    assert s["system"] == pytest.approx((10 * p1 + 30 * p2 + 20 * p3) / 60)


def test_cemi_zero_is_share_interrupted_at_least_once():
    # n = 0: P(N > 0) = 1 - e^-λ
    assert prob_more_than(np.array([0.0, 1.0]), 0) == pytest.approx([0.0, 1 - math.exp(-1)])


@pytest.mark.parametrize("bad", [-1, 1.5])
def test_bad_threshold(bad):
    with pytest.raises(InputError):
        prob_more_than(np.array([1.0]), bad)


def test_rbts_frequent_load_points(rbts2_net):
    # Published RBTS Bus 2 case (reference/rbts-bus2.md, tests/test_reliability_analytical.py):
    # LP1 λ = 0.23925/yr, LP12 λ = 0.25550/yr (among the highest). P(N > 0) = 1 - e^-λ:
    # LP1: 1 - e^-0.23925 = 0.212782; LP12: 1 - e^-0.2555 = 0.225471
    impact = gs.reliability.build_impact(rbts2_net)
    res = analytical_indices(impact)
    df = frequent_load_points(impact, res, 0, top=None)
    by_name = df.set_index("name")
    assert by_name.loc["LP1", "p_more_than_n"] == pytest.approx(0.212782, abs=1e-5)
    assert by_name.loc["LP12", "p_more_than_n"] == pytest.approx(0.225471, abs=1e-5)
    assert df["p_more_than_n"].is_monotonic_decreasing
    assert len(frequent_load_points(impact, res, 0, top=5)) == 5

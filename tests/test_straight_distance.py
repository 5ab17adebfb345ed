"""Straight-line distance to the nearest target (the numpy grid of the coverage path) against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weihai_gis.straight_distance import straight_distance_m


def _brute(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    dx = points[:, None, 0] - targets[None, :, 0]
    dy = points[:, None, 1] - targets[None, :, 1]
    return np.sqrt((dx * dx + dy * dy).min(axis=1))


@st.composite
def _layout(draw):
    """Points and targets in Weihai's plane: spread, clustered, on a line, duplicated, far outside each other."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n, m = draw(st.integers(1, 400)), draw(st.integers(1, 60))
    span = draw(st.sampled_from([1.0, 50.0, 3000.0, 40_000.0]))
    origin = np.array([420_000.0, 4_130_000.0])
    points = origin + rng.uniform(-span, 2 * span, (n, 2))
    kind = draw(st.sampled_from(["spread", "cluster", "line", "duplicates", "one"]))
    if kind == "spread":
        targets = origin + rng.uniform(0, span, (m, 2))
    elif kind == "cluster":  # dense in a corner: most points far from every target
        targets = origin + rng.normal(0, span / 100, (m, 2))
    elif kind == "line":  # a zero-area bounding box
        targets = origin + np.c_[rng.uniform(0, span, m), np.zeros(m)]
    elif kind == "duplicates":
        targets = np.repeat(origin + rng.uniform(0, span, (max(1, m // 4), 2)), 4, axis=0)
    else:
        targets = origin[None, :] + rng.uniform(0, span, 2)
    if draw(st.booleans()):  # some points exactly on targets
        k = min(n, len(targets))
        points[:k] = targets[:k]
    within = draw(st.sampled_from([math.inf, 0.0, 0.5, span / 10, span, 5 * span]))
    return points, targets, within


@settings(max_examples=150, deadline=None)
@given(_layout())
def test_the_grid_equals_brute_force_within_the_reach_and_nan_beyond(layout):
    points, targets, within = layout
    got = straight_distance_m(points, targets, within_m=within)
    want = _brute(points, targets)
    want = np.where(want <= within, want, np.nan)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert np.array_equal(got, want, equal_nan=True)  # the same arithmetic: bit for bit


@pytest.mark.parametrize("batch", [1, 7])
def test_batches_and_ring_widening_keep_the_answer(monkeypatch, batch):
    import weihai_gis.straight_distance as sd

    rng = np.random.default_rng(3)
    targets = rng.normal(0, 5.0, (200, 2))  # a dense cluster: small cells, far points widen many times
    points = rng.uniform(-5000, 5000, (300, 2))
    monkeypatch.setattr(sd, "BATCH", batch)
    np.testing.assert_array_equal(straight_distance_m(points, targets), _brute(points, targets))


def test_no_target_non_finite_points_and_empty_inputs_give_nan():
    assert np.isnan(straight_distance_m(np.zeros((3, 2)), np.empty((0, 2)))).all()
    got = straight_distance_m(np.array([[0.0, 0.0], [np.nan, 1.0]]), np.array([[3.0, 4.0]]))
    assert got[0] == 5.0 and np.isnan(got[1])
    assert straight_distance_m(np.empty((0, 2)), np.ones((2, 2))).shape == (0,)

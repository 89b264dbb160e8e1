"""Efficiency curve: binning, the closed-form cube fit, v*, and an electric boat built from the real
speed/power table A of logbook.md §4.3 (17 ft displacement boat, Torqeedo Cruise 2.0), run through
the detector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import math
import random

import pytest

from custom_components.victron_venus.trips.detector import (
    KNOT,
    M_PER_DEG,
    Sample,
    TripDetector,
)
from custom_components.victron_venus.trips.efficiency import (
    KNOT_MS,
    best_speed,
    build_curve,
    fit_cube,
)

# logbook.md §4.3 A: input W, kn, Wh/nm. "The cube law holds to about 4.75 kn; then the hull-speed
# wall appears."
TABLE_A = [
    (150, 3.0, 50),
    (300, 3.7, 81),
    (450, 4.3, 105),
    (600, 4.75, 126),
    (1000, 5.1, 196),
    (1500, 5.3, 283),
    (2250, 5.65, 398),
]
CUBE_LAW_MAX_KN = 4.8


def table_a() -> float:
    """a = Σ(P·v³)/Σ(v⁶) straight from the table rows below the knee (5.655 W/kn³)."""
    rows = [(v, p) for p, v, _ in TABLE_A if v <= CUBE_LAW_MAX_KN]
    a = fit_cube(rows)
    assert a is not None
    return a


def electric_boat(house_w: float = 0.0, seed: int = 4) -> list[Sample]:
    """Moored 10 min, then motoring 12 min at each speed of table A (the table's input power,
    +-2 % noise, SOG +-0.05 kn, 40 s to change speed), back on a mooring; 1 Hz."""
    rng = random.Random(seed)
    t = datetime(2024, 6, 15, 8, 0, tzinfo=UTC)
    lat0, lon0 = 60.15, 24.95
    k_lon = M_PER_DEG * math.cos(math.radians(lat0))
    x = 0.0
    out: list[Sample] = []

    def emit(knots: float, power: float, engine: bool) -> None:
        nonlocal t, x
        x += knots * KNOT
        out.append(
            Sample(
                t,
                lat0 + rng.gauss(0, 1) / M_PER_DEG,
                lon0 + (x + rng.gauss(0, 1)) / k_lon,
                max(0.0, knots + rng.gauss(0, 0.05)) * KNOT,
                power,
                engine,
            )
        )
        t += timedelta(seconds=1)

    for _ in range(600):
        emit(0.0, house_w * rng.uniform(0.97, 1.03), False)
    previous = 0.0
    for power, knots, _ in TABLE_A:
        for i in range(40):  # accelerating: neither speed nor power steady
            emit(previous + (knots - previous) * i / 40, power * (0.5 + i / 40), True)
        for _ in range(720):
            emit(knots, power * rng.gauss(1.0, 0.02) + house_w, True)
        previous = knots
    for i in range(60):
        emit(previous * (1 - i / 60), house_w, False)
    for _ in range(1800):
        emit(0.0, house_w * rng.uniform(0.97, 1.03), False)
    return out


def test_electric_boat_from_table_a() -> None:
    samples = electric_boat()
    det = TripDetector()
    det.feed(samples)
    (trip,) = det.finish()
    pairs = trip.efficiency_samples
    # every steady (speed, power) pair is one of table A's rows, and every row gave some: the
    # row's speed (SOG noise 0.05 kn) and power (2 % noise; the tail of a 40 s speed change may
    # fall in a steady minute)
    rows = [min(TABLE_A, key=lambda row: abs(row[1] - v)) for v, _ in pairs]
    assert {knots for _, knots, _ in rows} == {knots for _, knots, _ in TABLE_A}
    for (v, p), (power, knots, _) in zip(pairs, rows, strict=True):
        assert v == pytest.approx(knots, abs=0.05)
        assert p == pytest.approx(power, rel=0.05)

    curve = build_curve(pairs, house_load_w=0.0, fit_max_kn=CUBE_LAW_MAX_KN)
    expected = table_a()
    assert expected == pytest.approx(5.655, abs=0.01)
    assert curve.a == pytest.approx(expected, rel=0.10)

    # Wh/nm per speed: every bin holding one table row gives that row's Wh/nm; 5.1 and 5.3 kn share
    # the 5.0-5.5 kn bin, whose median lies between them.
    by_bin = {p.bin_low_kn: p for p in curve.points}
    for power, knots, wh_per_nm in TABLE_A:
        point = by_bin[math.floor(knots / 0.5) * 0.5]
        if knots in (5.1, 5.3):
            assert 196 * 0.95 <= point.wh_per_nm <= 283 * 1.05
            continue
        assert point.speed_kn == pytest.approx(knots, abs=0.1)
        assert point.power_w == pytest.approx(power, rel=0.05)
        assert point.wh_per_nm == pytest.approx(wh_per_nm, rel=0.05)
    # the wall: above the knee the cube law under-predicts badly
    assert curve.power_w(5.65) < 0.6 * 2250  # type: ignore[operator]

    # the trip's own figures: energy is the integral of power, Wh/nm over the whole trip
    motoring_s = 760 * len(TABLE_A)
    assert trip.end is not None
    held = sum(s.power for s in samples if trip.start <= s.time < trip.end)  # type: ignore[misc]
    assert trip.energy_wh == pytest.approx(held / 3600, rel=0.01)  # 1 Hz: W·s
    assert trip.engine_hours == pytest.approx(motoring_s / 3600, rel=0.02)
    assert trip.wh_per_nm == pytest.approx(trip.energy_wh / trip.distance_nm)  # type: ignore[operator]
    assert trip.mode == "motoring"


def test_electric_boat_with_a_house_load() -> None:
    """Battery power = propulsion + 60 W of house load: subtract it, then v* from the fit."""
    det = TripDetector()
    det.feed(electric_boat(house_w=60.0))
    (trip,) = det.finish()
    curve = build_curve(trip.efficiency_samples, house_load_w=60.0, fit_max_kn=CUBE_LAW_MAX_KN)
    assert curve.a == pytest.approx(table_a(), rel=0.10)
    assert curve.best_speed_kn == pytest.approx((60.0 / (2 * curve.a)) ** (1 / 3))  # type: ignore[operator]
    assert 1.6 < curve.best_speed_kn < 1.9  # type: ignore[operator]
    # measured Wh/nm includes the house load
    point = next(p for p in curve.points if p.bin_low_kn == 3.0)
    assert point.wh_per_nm == pytest.approx((150 + 60) / 3.0, rel=0.05)


def test_cube_fit_is_exact_on_a_cube() -> None:
    points = [(v, 5.0 * v**3) for v in (1.0, 2.0, 3.5, 4.0)]
    assert fit_cube(points) == pytest.approx(5.0, rel=1e-12)
    assert fit_cube([(v, p + 40.0) for v, p in points], 40.0) == pytest.approx(5.0, rel=1e-12)
    assert fit_cube([]) is None
    assert fit_cube([(0.0, 30.0)]) is None


def test_noisy_cube_recovers_a_within_5_percent_and_estimates_the_house_load() -> None:
    """logbook.md §5.5: simulate P = a·v³ with noise and check the fitted a is within 5 %."""
    rng = random.Random(11)
    a, house = 4.6, 80.0
    samples = [(abs(rng.gauss(0.0, 0.05)), house + rng.gauss(0, 4)) for _ in range(200)]
    for _ in range(3000):
        v = rng.uniform(1.5, 5.0)
        samples.append((v + rng.gauss(0, 0.1), (a * v**3 + house) * rng.gauss(1.0, 0.05)))
    curve = build_curve(samples)
    assert curve.house_load_estimated
    assert curve.house_load_w == pytest.approx(house, abs=3)
    assert curve.a == pytest.approx(a, rel=0.05)
    assert curve.best_speed_kn == pytest.approx((house / (2 * a)) ** (1 / 3), rel=0.05)
    assert [p.bin_low_kn for p in curve.points] == [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]


def test_best_speed_matches_the_reference() -> None:
    # logbook.md §4.1: a = 4.6 W/kn³ and 60 W -> v* ≈ 1.9 kn; 120 W -> v* ≈ 2.35 kn
    assert best_speed(4.6, 60.0) == pytest.approx(1.87, abs=0.01)
    assert best_speed(4.6, 120.0) == pytest.approx(2.35, abs=0.01)
    assert best_speed(4.6, 0.0) is None
    assert best_speed(None, 60.0) is None


def test_v_star_minimises_the_model_wh_per_nm() -> None:
    curve = build_curve(
        [(v, 4.6 * v**3 + 60) for v in (2.0, 3.0, 4.0) for _ in range(3)], house_load_w=60.0
    )
    v = curve.best_speed_kn
    assert v is not None
    best = curve.wh_per_nm(v)
    assert best is not None and best == curve.best_wh_per_nm
    assert curve.wh_per_nm(v * 0.9) > best  # type: ignore[operator]
    assert curve.wh_per_nm(v * 1.1) > best  # type: ignore[operator]
    assert best == pytest.approx(4.6 * v**2 + 60 / v)
    assert curve.range_nm(1000.0, 4.0) == pytest.approx(1000 / (4.6 * 16 + 15))


def test_bins_use_medians_and_skip_thin_bins() -> None:
    samples = [(3.1, 300.0)] * 6 + [(3.3, 310.0)] * 3 + [(3.2, 5000.0)]  # one wild sample
    samples += [(4.2, 500.0)] * 2  # below min_bin_samples
    curve = build_curve(samples, house_load_w=0.0)
    (point,) = curve.points
    assert point.bin_low_kn == 3.0
    assert point.power_w == 300.0
    assert point.speed_kn == pytest.approx(3.1)
    assert point.samples == 10
    assert point.wh_per_nm == pytest.approx(300.0 / 3.1)
    assert curve.samples == 12


def test_speed_in_metres_per_second() -> None:
    knots = [(v, 5.0 * v**3) for v in (2.0, 2.6, 3.2, 3.8) for _ in range(3)]
    in_ms = [(v * KNOT_MS, p) for v, p in knots]
    assert build_curve(in_ms, speed_unit="m/s").a == pytest.approx(5.0)
    assert build_curve(in_ms).a != pytest.approx(5.0)  # read as knots they are other speeds


def test_the_knee_matters() -> None:
    samples = [(v, float(p)) for p, v, _ in TABLE_A for _ in range(3)]
    low = build_curve(samples, house_load_w=0.0, fit_max_kn=CUBE_LAW_MAX_KN)
    every = build_curve(samples, house_load_w=0.0)
    assert low.a == pytest.approx(table_a())
    assert every.a is not None and low.a is not None and every.a > 1.3 * low.a


def test_empty_and_serialisable() -> None:
    curve = build_curve([])
    assert curve.a is None and curve.points == () and curve.best_speed_kn is None
    assert curve.power_w(3.0) is None and curve.range_nm(1000, 3.0) is None
    assert build_curve([(math.nan, 1.0), (2.0, math.inf), (-1.0, 5.0)]).samples == 0
    curve = build_curve(
        [(v, 4.6 * v**3 + 50) for v in (2.0, 3.0, 4.0) for _ in range(3)], house_load_w=50.0
    )
    data = json.loads(json.dumps(curve.to_dict()))
    assert data["a_w_per_kn3"] == pytest.approx(4.6)
    assert len(data["points"]) == 3
    assert set(curve.attributes()) == {
        "a_w_per_kn3",
        "house_load_w",
        "best_speed_kn",
        "best_wh_per_nm",
        "samples",
    }
    with pytest.raises(ValueError):
        build_curve([], bin_kn=0)

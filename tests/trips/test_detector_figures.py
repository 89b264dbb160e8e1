"""The trip detector's figures on streams whose answer is known exactly, not within a bound.

Each scenario is a list of legs of constant speed over ground, heading, engine state and power,
one fix a second, without GPS noise (the longitude step follows the latitude, so every metre laid
out is a metre on the ground). The answer then follows from the legs alone, by the definitions of
logbook.md, without running the detector's rules by hand:

* the trip starts where the boat starts to move and ends where it comes to rest for longer than
  the merge window; a rest inside that window is a stop, from its first to its last second;
* distance over ground and the log (the speed integral) are both the sum of seconds x speed of
  the moving legs: every moving leg lasts a whole number of jitter steps (the 10 m filter counts
  a leg's last metres only when they make 10 m), so nothing is left uncounted;
* engine time is the seconds of moving legs with the engine on; the energy is seconds x power of
  the moving legs (the house load at rest is not the trip's); time moving is the seconds above
  0.5 kn.

The random-stream tests in test_detector.py cannot know such values; these scenarios pin them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import math

import pytest

from custom_components.victron_venus.trips.detector import (
    KNOT,
    M_PER_DEG,
    Event,
    Sample,
    TrackPointAdded,
    TripDetector,
    haversine_m,
)

T0 = datetime(2024, 6, 15, 8, 0, tzinfo=UTC)
ORIGIN = (60.15, 24.95)
JITTER_M = 10.0  # DetectorConfig.jitter_distance_m
MERGE_S = 1200  # DetectorConfig.merge_gap_s


@dataclass(frozen=True, slots=True)
class Leg:
    """`seconds` at `knots` on `heading` (degrees), engine and power (W) held throughout."""

    seconds: int
    knots: float
    heading: float = 0.0
    engine: bool | None = None
    power: float | None = None


def samples_of(legs: list[Leg]) -> tuple[list[Sample], list[tuple[float, float]]]:
    """One sample a second, at the position reached so far (then the boat moves one second on);
    and the position at the end of each leg."""
    lat, lon = ORIGIN
    t = T0
    out: list[Sample] = []
    ends: list[tuple[float, float]] = []
    for leg in legs:
        v = leg.knots * KNOT
        north = v * math.cos(math.radians(leg.heading))
        east = v * math.sin(math.radians(leg.heading))
        for _ in range(leg.seconds):
            out.append(Sample(t, lat, lon, v, leg.power, leg.engine))
            lat += north / M_PER_DEG
            lon += east / (M_PER_DEG * math.cos(math.radians(lat)))
            t += timedelta(seconds=1)
        ends.append((lat, lon))
    return out, ends


def jitter_steps_whole(leg: Leg) -> bool:
    """Whether the filter counts the leg's end: it lasts a whole number of 10 m steps."""
    v = leg.knots * KNOT
    step = math.ceil(JITTER_M / v)  # seconds per counted step
    return leg.seconds % step == 0


MOTORING = [
    Leg(600, 0.0, engine=False, power=50.0),  # moored, house load
    Leg(1800, 5.0, 90.0, engine=True, power=900.0),
    Leg(1800, 0.0, engine=False, power=50.0),
]
SAILING_WITH_A_STOP = [
    Leg(600, 0.0, engine=False),
    Leg(1200, 4.0, 0.0, engine=False),
    Leg(600, 0.0, engine=False),  # 10 min hove to: inside the 20 min merge window, a stop
    Leg(1200, 6.0, 90.0, engine=False),
    Leg(1800, 0.0, engine=False),
]
MOTOR_OUT_THEN_SAIL = [
    Leg(600, 0.0, engine=False),
    Leg(300, 5.0, 0.0, engine=True),
    Leg(1500, 6.0, 0.0, engine=False),
    Leg(1800, 0.0, engine=False),
]


@pytest.mark.parametrize(
    ("legs", "mode"),
    [
        pytest.param(MOTORING, "motoring", id="motoring"),
        pytest.param(SAILING_WITH_A_STOP, "sailing", id="sailing-with-a-stop"),
        pytest.param(MOTOR_OUT_THEN_SAIL, "mixed", id="motor-out-then-sail"),
    ],
)
def test_figures_are_those_of_the_legs(legs: list[Leg], mode: str) -> None:
    samples, ends = samples_of(legs)
    starts = [
        T0 + timedelta(seconds=sum(leg.seconds for leg in legs[:i])) for i in range(len(legs))
    ]
    moving = [i for i, leg in enumerate(legs) if leg.knots > 0]
    assert all(jitter_steps_whole(legs[i]) for i in moving)
    first, last = moving[0], moving[-1]
    stops = [
        (starts[i], starts[i + 1])
        for i in range(first + 1, last)
        if legs[i].knots == 0 and legs[i].seconds < MERGE_S
    ]
    assert legs[-1].knots == 0 and legs[-1].seconds > MERGE_S  # the trip ends
    laid_out = sum(legs[i].seconds * legs[i].knots * KNOT for i in moving)
    engine_s = sum(legs[i].seconds for i in moving if legs[i].engine)
    powered = [legs[i] for i in moving if legs[i].power is not None]

    det = TripDetector()
    events: list[Event] = det.feed(samples)
    (trip,) = det.finish()
    kinds = [type(e).__name__ for e in events if not isinstance(e, TrackPointAdded)]
    assert kinds == [
        "TripStarted",
        *["StopStarted", "StopEnded"] * len(stops),
        "StopStarted",
        "TripEnded",
    ]
    assert det.stats["jump"] == det.stats["bad_fix"] == det.stats["bad_time"] == 0

    assert trip.start == starts[first]
    assert trip.end == starts[last + 1]
    assert [(s.start, s.end) for s in trip.stops] == stops
    assert (trip.start_latitude, trip.start_longitude) == (
        samples[0].latitude,
        samples[0].longitude,
    )
    assert (trip.end_latitude, trip.end_longitude) == pytest.approx(ends[last], abs=1e-12)
    # float sums of thousands of legs: equal to a part in 10^9
    assert trip.distance_m == pytest.approx(laid_out, rel=1e-9)
    assert trip.log_m == pytest.approx(laid_out, rel=1e-9)
    assert trip.engine_s == engine_s
    assert trip.moving_s == sum(legs[i].seconds for i in moving if legs[i].knots >= 0.5)
    assert trip.power_s == sum(leg.seconds for leg in powered)
    assert trip.energy_j == sum(leg.seconds * (leg.power or 0.0) for leg in powered)
    assert trip.energy_wh == (
        sum(leg.seconds * (leg.power or 0.0) for leg in powered) / 3600.0 if powered else None
    )
    assert trip.max_speed_kn == pytest.approx(max(legs[i].knots for i in moving), rel=1e-12)
    assert trip.mode == mode
    underway = (trip.end - trip.start).total_seconds() - sum(
        (b - a).total_seconds() for a, b in stops
    )
    assert trip.underway_s == underway
    # and the ground it covered, measured on the sphere leg by leg
    legs_m = 0.0
    for i in moving:
        before = ends[i - 1]
        legs_m += haversine_m(*before, *ends[i])
    assert trip.distance_m == pytest.approx(legs_m, rel=1e-6)

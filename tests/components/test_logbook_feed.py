"""Home Assistant states to samples (trips/feed.py) and the recorder replay (trips/replay.py),
on State objects as the recorder returns them: units, odd states, latitude/longitude pairs, and a
replay that finds the trip the pure detector finds in the same data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
import math
from typing import Any

from homeassistant.core import State
import pytest

from custom_components.victron_venus.trips.detector import (
    KNOT,
    M_PER_DEG,
    TripDetector,
    detect_trips,
)
from custom_components.victron_venus.trips.feed import (
    STALE_S,
    TICK_S,
    LogbookFeed,
    condition,
    number,
    on_off,
    power_w,
    speed_ms,
    tracker_position,
)
from custom_components.victron_venus.trips.replay import csv_rows, replay
from custom_components.victron_venus.trips.settings import LogbookSettings
from tests.trips.test_detector import Boat

T0 = datetime(2024, 6, 15, 8, 0, tzinfo=UTC)


def st(entity_id: str, value: Any, when: datetime = T0, **attributes: Any) -> State:
    """A State as the recorder gives it back."""
    return State(entity_id, str(value), attributes, last_changed=when, last_updated=when)


def test_units_and_odd_states() -> None:
    assert number(None) is None and number(st("sensor.x", "unavailable")) is None
    assert number(st("sensor.x", "nan")) is None and number(st("sensor.x", "abc")) is None
    assert speed_ms(st("sensor.sog", 10, unit_of_measurement="kn")) == pytest.approx(10 * KNOT)
    assert speed_ms(st("sensor.sog", 36, unit_of_measurement="km/h")) == pytest.approx(10.0)
    assert speed_ms(st("sensor.sog", 3)) == 3.0  # no unit: m/s, as a GX publishes
    assert speed_ms(st("sensor.sog", 3, unit_of_measurement="V")) is None
    assert speed_ms(st("sensor.sog", "unknown")) is None
    assert power_w(st("sensor.p", 1.5, unit_of_measurement="kW")) == 1500.0
    assert power_w(st("sensor.p", 40)) == 40.0
    assert power_w(st("sensor.p", 4, unit_of_measurement="A")) is None
    assert power_w(None) is None
    assert on_off(st("binary_sensor.e", "on")) is True
    assert on_off(st("binary_sensor.e", "off")) is False
    assert on_off(st("sensor.rpm", "850", unit_of_measurement="rpm")) is True
    assert on_off(st("sensor.rpm", "0")) is False
    assert on_off(st("sensor.rpm", "idle")) is None and on_off(None) is None
    assert tracker_position(st("device_tracker.g", "home", latitude=60.1, longitude=24)) == (
        60.1,
        24.0,
    )
    assert tracker_position(st("device_tracker.g", "home", latitude=True, longitude=1)) is None
    assert tracker_position(st("device_tracker.g", "unavailable")) is None
    weather = st(
        "weather.sea",
        "cloudy",
        temperature=14,
        temperature_unit="°C",
        wind_speed=22,
        wind_speed_unit="km/h",
        wind_bearing=250,
        friendly_name="Sea",
    )
    assert condition(weather) == {
        "state": "cloudy",
        "temperature": 14,
        "temperature_unit": "°C",
        "wind_speed": 22,
        "wind_speed_unit": "km/h",
        "wind_bearing": 250,
    }
    assert condition(st("sensor.wind", 12, unit_of_measurement="kn")) == {
        "state": "12",
        "unit": "kn",
    }
    assert condition(st("sensor.wind", "unknown")) is None


def _pair_history(boat: Boat) -> dict[str, list[State]]:
    """A boat's fixes as latitude and longitude sensors, the longitude written 0.5 s after the
    latitude, and only when it changed (a recorder keeps changes)."""
    lat: list[State] = []
    lon: list[State] = []
    for sample in boat.samples:
        assert sample.latitude is not None and sample.longitude is not None
        if not lat or lat[-1].state != f"{sample.latitude:.7f}":
            lat.append(st("sensor.lat", f"{sample.latitude:.7f}", sample.time))
        if not lon or lon[-1].state != f"{sample.longitude:.7f}":
            later = sample.time + timedelta(seconds=0.5)
            lon.append(st("sensor.lon", f"{sample.longitude:.7f}", later))
    return {"sensor.lat": lat, "sensor.lon": lon}


def test_replay_of_a_sensor_pair_finds_the_pure_detectors_trips() -> None:
    """North-east (both axes change), then due north (only the latitude: each fix waits 2 s for
    a longitude that never comes), then at rest: the same trip as the pure detector's, no jumps."""
    boat = Boat(step=2.0, jitter_m=0.0).rest(300).go(900, 6.0, 45.0).go(900, 6.0, 0.0)
    boat.rest(1800)
    settings = LogbookSettings(position="sensor.lat", longitude="sensor.lon")
    history = _pair_history(boat)
    result = replay(settings, history, T0 - timedelta(minutes=1), boat.t)
    # the pure detector on the same information: positions only (speed from displacement)
    (ref,) = detect_trips([replace(s, speed=None) for s in boat.samples])
    (found,) = result.finished
    assert result.open is None
    assert found.trip.id == ref.id
    assert found.trip.distance_nm == pytest.approx(ref.distance_nm, rel=0.01)
    assert found.trip.distance_nm == pytest.approx(6.0 * 1800 / 3600, rel=0.02)
    # Without speed over ground a bucket's speed is its displacement over >= 30 s. The boat's
    # last move is its fix at 08:34:58 (T0 + 2098 s). The pure run has a fix every 2 s at rest:
    # its first 10 s bucket whose 30 s look-back starts at that fix is 08:35:20. The recorder has
    # no change at rest: the feed samples the boat at the first stale tick (ticks every TICK_S
    # from 07:59; stale STALE_S after the last fix: 08:36:00), and once one bucket after the
    # last fix (08:35:08, whose look-back still moves), so the stop starts at that tick, 40 s on.
    last_move = T0 + timedelta(seconds=2098)
    assert ref.end == T0 + timedelta(minutes=35, seconds=20)
    start, tick = T0 - timedelta(minutes=1), timedelta(seconds=TICK_S)  # the replay's ticks
    stale = last_move + timedelta(seconds=STALE_S)
    first_stale_tick = start + tick * math.ceil((stale - start) / tick)
    assert found.trip.end == first_stale_tick == T0 + timedelta(minutes=36)
    # one point per bucket under way: the start, 90 on the north-east leg (a fix every 2 s, 10 s
    # buckets), 75 on the north leg (a lone latitude waits its 2 s for a longitude, and the next
    # latitude comes then: a fix every 4 s, 12 s buckets), and the two samples at rest
    assert [p.time for p in found.points[-2:]] == [
        last_move + timedelta(seconds=10),
        first_stale_tick,
    ]
    assert len(found.points) == 1 + 900 // 10 + 900 // 12 + 2 == 168


def test_live_feed_samples_value_changes_only_when_the_position_is_stale() -> None:
    settings = LogbookSettings(position="device_tracker.gps", speed="sensor.sog", power="sensor.p")
    feed = LogbookFeed(settings, TripDetector())
    assert feed.tick(T0) == [] and feed.sample(T0) is None  # no position: nothing to sample
    feed.seed({"device_tracker.gps": st("device_tracker.gps", "x", latitude=60.0, longitude=24.0)})
    assert feed.samples == 0 and feed.position_available()
    feed.tick(T0)  # never a fix: stale, the boat at rest at T0
    assert feed.samples == 1
    fix = T0 + timedelta(seconds=5)
    gps = st("device_tracker.gps", "x", fix, latitude=60.00001, longitude=24.0)
    assert feed.apply("device_tracker.gps", gps)
    feed.flush(fix)
    assert feed.samples == 2 and feed.last_fix == fix
    when = T0 + timedelta(seconds=20)
    assert feed.apply("sensor.sog", st("sensor.sog", 0.1, when, unit_of_measurement="kn"))
    feed.flush(when)  # within STALE_S of the last fix: rides along with the next one
    assert feed.samples == 2
    assert not feed.apply("sensor.unrelated", st("sensor.unrelated", 1, when))
    later = fix + timedelta(seconds=STALE_S + 5)
    feed.tick(later)  # no fix came: the deferred change at its own time, then the boat now
    assert feed.samples == 4 and feed.last_fed == later
    assert feed.detector.stats["accepted"] == 4
    assert feed.commit_pair(later) == []  # a tracker never waits for a partner


def test_csv_rows_convert_units_and_hold_values() -> None:
    settings = LogbookSettings(
        position="device_tracker.gps",
        speed="sensor.sog",
        soc="sensor.soc",
        current="sensor.i",
        voltage="sensor.v",
    )
    t1, t2, t3 = (T0 + timedelta(seconds=s) for s in (10, 20, 30))
    history = {
        "device_tracker.gps": [
            st("device_tracker.gps", "x", T0 - timedelta(seconds=5), latitude=60, longitude=24),
            st("device_tracker.gps", "x", t2, latitude=60.001, longitude=24),
        ],
        "sensor.sog": [st("sensor.sog", 2, t1, unit_of_measurement="kn")],
        "sensor.soc": [st("sensor.soc", 80, t1, unit_of_measurement="%")],
        "sensor.i": [st("sensor.i", -4200, t1, unit_of_measurement="mA")],
        "sensor.v": [st("sensor.v", 13200, t1, unit_of_measurement="mV")],
        "sensor.p": [st("sensor.p", 1.2, t3, unit_of_measurement="kW")],
    }
    rows = list(csv_rows(settings, history, T0, t3, {"motor": "sensor.p"}))
    assert [r["timestamp"] for r in rows] == [t1, t2, t3]
    assert rows[0] == {
        "timestamp": t1,
        "gps_lat": 60.0,
        "gps_lon": 24.0,
        "gps_speed": pytest.approx(2 * KNOT),
        "soc": 80.0,
        "current": pytest.approx(-4.2),
        "voltage": pytest.approx(13.2),
    }
    assert rows[1]["gps_lat"] == 60.001 and "motor" not in rows[1]
    assert rows[2]["motor"] == 1200.0
    # a state that is not a percentage is left out
    history["sensor.soc"] = [st("sensor.soc", 80, t1, unit_of_measurement="Ah")]
    assert next(iter(csv_rows(settings, history, T0, t3, {})))["soc"] is None
    history["sensor.i"] = [st("sensor.i", 4, t1, unit_of_measurement="W")]
    history["sensor.v"] = [st("sensor.v", 4, t1, unit_of_measurement="A")]
    first = next(iter(csv_rows(settings, history, T0, t3, {})))
    assert first["current"] is None and first["voltage"] is None
    # positions go missing (no fix): empty cells
    history["device_tracker.gps"].append(st("device_tracker.gps", "unavailable", t3))
    assert list(csv_rows(settings, history, T0, t3, {}))[-1]["gps_lat"] is None
    # the sample data ends before `until`: nothing after the end
    assert list(csv_rows(settings, history, T0, t1, {}))[-1]["timestamp"] == t1
    assert math.isclose(M_PER_DEG, 111195.08, rel_tol=1e-6)


def test_sensor_pair_edges_battery_sign_and_engine_threshold() -> None:
    settings = LogbookSettings(
        position="sensor.lat",
        longitude="sensor.lon",
        power="sensor.battery_power",
        power_kind="battery",
        engine_power_w=300.0,
    )
    feed = LogbookFeed(settings, TripDetector())
    # a lone longitude before any latitude: nothing to combine it with, dropped at the deadline
    feed.apply("sensor.lon", st("sensor.lon", 24.0))
    assert feed.pair_deadline == T0 + timedelta(seconds=2)
    assert feed.commit_pair(T0 + timedelta(seconds=2)) == [] and feed.position is None
    assert feed.pair_deadline is None
    feed.seed({"sensor.lat": st("sensor.lat", 60.0), "sensor.lon": st("sensor.lon", 24.0)})
    assert feed.position == (60.0, 24.0)
    # Victron battery power: -450 W (discharging) is 450 W drawn, above the engine threshold
    feed.apply("sensor.battery_power", st("sensor.battery_power", -450, unit_of_measurement="W"))
    sample = feed.sample(T0)
    assert sample is not None and sample.power == 450.0 and sample.engine_on is True
    feed.apply("sensor.battery_power", st("sensor.battery_power", 50, unit_of_measurement="W"))
    sample = feed.sample(T0)
    assert sample is not None and sample.power == -50.0 and sample.engine_on is False
    # only the latitude moves (heading north): committed alone, with the old longitude
    t1 = T0 + timedelta(seconds=10)
    feed.apply("sensor.lat", st("sensor.lat", 60.001, t1))
    assert feed.position == (60.0, 24.0) and feed.pair_deadline is not None
    feed.commit_pair(t1 + timedelta(seconds=2))
    assert feed.position == (60.001, 24.0) and feed.last_fix == t1 + timedelta(seconds=2)
    # a sample stamped before the last one fed is moved just after it
    assert feed.apply("sensor.lon", st("sensor.lon", 24.001, t1))
    assert feed.apply("sensor.lat", st("sensor.lat", 60.002, t1))
    feed.flush(t1)
    assert feed.last_fed == t1 + timedelta(seconds=2, milliseconds=1)
    # the latitude goes unavailable: no position, nothing sampled
    feed.apply("sensor.lat", st("sensor.lat", "unavailable", t1))
    assert feed.position is None and not feed.position_available()
    assert feed.flush(t1 + timedelta(seconds=5)) == []

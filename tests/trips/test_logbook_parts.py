"""The logbook's small pure parts: starting and ending a trip by hand, the trip records (points,
conditions, persistence), the settings from entry data/options, the efficiency SVG, and the
logbook messages."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from custom_components.victron_venus.logbook import (
    EVENT_TRIP_ENDED,
    EVENT_TRIP_STARTED,
    describe_trip_event,
)
from custom_components.victron_venus.trips.detector import (
    DetectorConfig,
    TrackPointAdded,
    TripDetector,
    TripDiscarded,
    TripEnded,
    TripStarted,
)
from custom_components.victron_venus.trips.efficiency import build_curve
from custom_components.victron_venus.trips.records import FinishedTrip, TripRecorder
from custom_components.victron_venus.trips.settings import (
    THRESHOLDS,
    LogbookSettings,
    default_options,
    detector_config,
    option_names,
)
from custom_components.victron_venus.trips.svg import efficiency_svg, nice_step
from tests.trips.test_detector import Boat, kind
from tests.trips.test_efficiency import electric_boat

SVG = "{http://www.w3.org/2000/svg}"

# -- by hand ----------------------------------------------------------------------------------


def test_start_by_hand_at_rest_announces_at_once_and_the_rules_carry_on() -> None:
    boat = Boat().rest(300)
    det = TripDetector()
    assert det.start_trip() == []  # no data yet
    det.feed(boat.samples)
    events = det.start_trip()
    assert kind(events) == ["TripStarted"]
    trip = events[0].trip
    assert det.trip is trip and det.state == "underway"
    # the trip begins with the newest 10 s bucket: its first fix is 9 s before the last (1 Hz)
    assert trip.start == boat.samples[-10].time
    assert det.start_trip() == []  # already under way and announced
    n = len(boat.samples)
    boat.go(1200, 5.0).rest(1800)
    events = det.feed(boat.samples[n:])
    assert kind(events) == ["StopStarted", "TripEnded"]
    assert events[-1].trip is trip
    assert trip.distance_nm == pytest.approx(1.667, rel=0.02)


def test_start_by_hand_announces_a_candidate_and_resumes_a_paused_trip() -> None:
    boat = Boat().rest(300).go(90, 5.0)  # 230 m from rest: started, not yet 0.1 nm and 3 min
    det = TripDetector()
    assert kind(det.feed(boat.samples)) == []
    assert det.state == "underway" and det.trip is None
    assert kind(det.start_trip()) == ["TripStarted"]
    n = len(boat.samples)
    boat.go(900, 5.0).rest(700)
    assert kind(det.feed(boat.samples[n:])) == ["StopStarted"]
    events = det.start_trip()  # within the merge window and radius: the same trip goes on
    assert kind(events) == ["StopEnded"]
    assert det.state == "underway" and len(events[0].trip.stops) == 1


def test_end_by_hand() -> None:
    boat = Boat().rest(300).go(900, 5.0)
    det = TripDetector()
    assert det.end_trip() == []  # no data yet
    det.feed(boat.samples)
    trip = det.trip
    assert trip is not None
    events = det.end_trip()
    assert kind(events) == ["TripEnded"]
    assert trip.end == boat.samples[-1].time and det.state == "at_rest"
    assert det.end_trip() == []
    # the boat keeps going: a new trip once it is start_distance_m from where it was ended
    n = len(boat.samples)
    boat.go(300, 5.0)
    assert kind(det.feed(boat.samples[n:])) == ["TripStarted"]
    # stopped: the trip ends at the arrival
    n = len(boat.samples)
    boat.go(600, 5.0).rest(700)
    assert kind(det.feed(boat.samples[n:])) == ["StopStarted"]
    (ended,) = det.end_trip()
    assert isinstance(ended, TripEnded) and ended.trip.end == ended.trip.last_time
    # dated at the arrival: the first of the 700 fixes at rest, not the last sample
    assert ended.trip.end == boat.samples[-700].time
    # a hand-started trip ended at once is below the minimums: discarded
    det.start_trip()
    assert kind(det.end_trip()) == ["TripDiscarded"]


def test_snapshot_after_a_hand_start_resumes() -> None:
    boat = Boat().rest(300)
    det = TripDetector()
    det.feed(boat.samples)
    det.start_trip()
    copy = TripDetector.restore(json.loads(json.dumps(det.snapshot())))
    assert copy.trip is not None and copy.trip.id == det.trip.id  # type: ignore[union-attr]


# -- records ----------------------------------------------------------------------------------


def test_recorder_keeps_points_and_conditions_and_cuts_at_the_end() -> None:
    conditions = {"wind": {"state": "10", "unit": "kn"}}
    recorder = TripRecorder(lambda: dict(conditions))
    boat = Boat().rest(300).go(900, 5.0)
    det = TripDetector()
    out = recorder.handle(det.feed(boat.samples))
    assert [t.id for t in out.started] == [recorder.trip_id]
    assert out.points == len(recorder.points) == 900 // 10  # one point per 10 s bucket under way
    assert recorder.start_conditions == {"wind": {"state": "10", "unit": "kn"}}
    # persisted and restored mid-trip (a restart)
    saved = json.loads(json.dumps(recorder.to_dict()))
    again = TripRecorder(lambda: dict(conditions))
    again.restore(saved)
    again.restore(None)  # nothing saved: nothing changes
    assert again.points == recorder.points and again.trip_id == recorder.trip_id
    conditions["wind"] = {"state": "4", "unit": "kn"}  # the wind drops as the boat arrives
    n = len(boat.samples)
    boat.rest(1800)
    out = again.handle(det.feed(boat.samples[n:]))
    (finished,) = out.ended
    assert again.trip_id is None and again.points == []
    trip = finished.trip
    assert trip.end is not None and all(p.time <= trip.end for p in finished.points)
    # every bucket's point (and the arrival) at full resolution; the straight leg simplifies to
    # its two ends in the trip's own track
    assert (len(finished.points), len(trip.track)) == (900 // 10 + 1, 2)
    assert finished.conditions == {
        "start": {"wind": {"state": "10", "unit": "kn"}},
        "end": {"wind": {"state": "4", "unit": "kn"}},
    }
    assert finished.summary()["conditions"] == finished.conditions
    copy = FinishedTrip.from_dict(json.loads(json.dumps(finished.to_dict())))
    assert copy.trip.to_dict() == trip.to_dict() and copy.points == finished.points


def test_recorder_without_start_event_and_discards() -> None:
    recorder = TripRecorder(lambda: {"x": {"state": "1"}})
    boat = Boat().rest(300).go(900, 5.0)
    det = TripDetector()
    det.feed(boat.samples)
    trip = det.trip
    assert trip is not None
    # a TripEnded for a trip the recorder never saw (e.g. rebuilt): the simplified track is used
    trip.end = trip.last_time
    (finished,) = recorder.handle([TripEnded(trip)]).ended
    assert finished.points == trip.track
    assert finished.conditions == {"start": {}, "end": {"x": {"state": "1"}}}
    recorder.handle([TripStarted(trip), TrackPointAdded(trip, trip.track[0])])
    out = recorder.handle([TripDiscarded(trip)])
    assert out.discarded == [trip] and recorder.trip_id is None and out.trip_changed


# -- settings ---------------------------------------------------------------------------------


def test_settings_from_entry_data_and_options() -> None:
    options = default_options()
    assert set(options) == set(option_names())
    assert detector_config(options) == DetectorConfig()
    for key, (name, factor, _) in THRESHOLDS.items():
        assert options[key] * factor == pytest.approx(getattr(DetectorConfig(), name))
    settings = LogbookSettings.from_entry(
        {
            "position": "sensor.lat",
            "longitude": "sensor.lon",
            "speed": "sensor.sog",
            "power": "sensor.battery_power",
            "power_kind": "battery",
            "anchor": "",
            "conditions": ["sensor.wind", "sensor.sog"],
        },
        {**options, "stop_window": 15, "engine_power": 250, "fit_max_speed": 0},
    )
    assert not settings.tracker and settings.battery_power and settings.has_engine
    assert settings.anchor is None and settings.fit_max_kn is None
    assert settings.config.stop_window_s == 900
    assert settings.position_entities == ("sensor.lat", "sensor.lon")
    assert settings.value_entities == ("sensor.sog", "sensor.battery_power")
    assert settings.followed == (
        "sensor.lat",
        "sensor.lon",
        "sensor.sog",
        "sensor.battery_power",
        "sensor.wind",
    )
    plain = LogbookSettings.from_entry({"position": "device_tracker.gps"}, {})
    assert plain.tracker and not plain.has_engine and plain.config == DetectorConfig()
    with pytest.raises(ValueError):
        detector_config({"start_distance": -5})


# -- SVG --------------------------------------------------------------------------------------


def test_efficiency_svg_draws_bins_fit_and_best_speed() -> None:
    det = TripDetector()
    det.feed(electric_boat(house_w=60.0))
    (trip,) = det.finish()
    curve = build_curve(trip.efficiency_samples, house_load_w=60.0, fit_max_kn=4.8)
    svg = efficiency_svg(curve, title="Aurora & co: power vs speed")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 640 400"
    assert len(root.findall(f".//{SVG}circle")) == len(curve.points)
    (fit,) = root.findall(f".//{SVG}polyline")
    assert len((fit.get("points") or "").split()) == 61
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Aurora & co" in texts
    assert f"most economical {curve.best_speed_kn:.1f} kn" in texts
    assert "house load 60 W" in texts and "speed over ground (kn)" in texts
    dashed = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 1
    # without a house load there is no v*; the model can be drawn without an offset
    bare = ET.fromstring(efficiency_svg(build_curve(trip.efficiency_samples), model_offset_w=0))
    assert not [line for line in bare.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    empty = ET.fromstring(efficiency_svg(build_curve([])))
    assert "No steady-state samples yet" in "".join(t.text or "" for t in empty.iter(f"{SVG}text"))


def test_nice_steps() -> None:
    assert nice_step(7.0) == 2.0
    assert nice_step(2500.0) == 500.0
    assert nice_step(0.9) == 0.2
    assert nice_step(10.0) == 2.0


# -- messages ---------------------------------------------------------------------------------


def test_logbook_messages() -> None:
    assert describe_trip_event(EVENT_TRIP_STARTED, {"name": "Aurora"}) == (
        "Aurora",
        "started a trip",
    )
    data = {
        "name": "Aurora",
        "distance_nm": 18.736,
        "duration_s": 14845,
        "avg_speed_kn": 4.91,
        "stops": 2,
        "engine_hours": 0.25,
        "wh_per_nm": 95.4,
    }
    assert describe_trip_event(EVENT_TRIP_ENDED, data) == (
        "Aurora",
        "ended a trip: 18.74 nm in 4.12 h, avg 4.9 kn, 2 stops, engine 0.2 h, 95 Wh/nm",
    )
    assert describe_trip_event(EVENT_TRIP_ENDED, {}) == ("Logbook", "ended a trip: 0.00 nm")

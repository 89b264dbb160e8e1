"""The Logbook entry type in Home Assistant, on real input.

The real 4-hour sailing track (../shared/fixtures/gps/plaka.nmea) is played as device-tracker and
speed-sensor state changes at its recorded times (frozen clock, timers fired as time passes): the
live logbook must find the trip the pure detector finds (one trip with a stop, 18.9 ± 0.4 nm, open
at the end of the data), survive a restart in the middle of it, end it once the boat lies still,
and export it as GPX 1.1 that gpxpy reads back. An electric boat built from the real speed/power
table A (logbook.md §4.3) drives the energy, engine-hour and efficiency-curve parts.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from functools import cache
import json
import math
from pathlib import Path
from typing import Any
import xml.etree.ElementTree as ET

from freezegun.api import FrozenDateTimeFactory
import gpxpy
from homeassistant.components.image import async_get_image
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.diagnostics import async_get_config_entry_diagnostics
from custom_components.victron_venus.logbook import (
    EVENT_TRIP_ENDED,
    EVENT_TRIP_STARTED,
    describe_trip_event,
)
from custom_components.victron_venus.services import SCHEMAS
from custom_components.victron_venus.sources.logbook import LogbookSource
from custom_components.victron_venus.trips.detector import (
    KNOT,
    M_PER_DEG,
    Sample,
    Trip,
    detect_trips,
)
from custom_components.victron_venus.trips.export import GPXTPX_NS
from custom_components.victron_venus.trips.store import store_key
from tests.components.logbook_helpers import (
    ANCHOR,
    ENGINE,
    POWER,
    SPEED,
    TITLE,
    TRACKER,
    WIND,
    drive,
    entity_id,
    let_time_pass,
    logbook_entry,
    plaka,
    setup_logbook,
    state,
    tracker_attributes,
)
from tests.trips.test_detector import Boat
from tests.trips.test_efficiency import TABLE_A, electric_boat, table_a

GPX11 = "{http://www.topografix.com/GPX/1/1}"


@cache
def reference() -> tuple[list[Sample], Trip]:
    """The plaka samples and the one trip the pure detector finds in them."""
    samples = plaka()
    (trip,) = detect_trips(samples)
    return samples, trip


def _source(entry: MockConfigEntry) -> LogbookSource:
    source = entry.runtime_data
    assert isinstance(source, LogbookSource)
    return source


async def _call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def _track_numbers(hass: HomeAssistant, entity: str) -> list[float]:
    """Every numeric state an entity writes from now on."""
    values: list[float] = []

    @callback
    def listen(event: Event[Any]) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] == entity and new is not None:
            with contextlib.suppress(ValueError):
                values.append(float(new.state))

    hass.bus.async_listen(EVENT_STATE_CHANGED, listen)
    return values


async def test_plaka_live_finds_the_pure_detectors_trip_then_ends_it_at_rest(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tmp_path: Path,
    hass_storage: dict[str, Any],
) -> None:
    samples, ref = reference()
    hass.config.media_dirs = {"local": str(tmp_path)}
    freezer.move_to(samples[0].time - timedelta(minutes=1))
    hass.states.async_set(WIND, "12.5", {"unit_of_measurement": "kn"})
    entry = await setup_logbook(hass, logbook_entry())
    started = async_capture_events(hass, EVENT_TRIP_STARTED)
    ended = async_capture_events(hass, EVENT_TRIP_ENDED)
    totals = _track_numbers(hass, entity_id(hass, entry, "total_distance"))
    assert state(hass, entry, "navigation_state") == "unknown"  # no position yet

    last = await drive(hass, freezer, samples)
    assert last == samples[-1].time
    source = _source(entry)
    trip = source.detector.trip
    assert trip is not None
    assert trip.end is None, "the trip is still open at the end of the data"
    assert (trip.id, trip.start) == (ref.id, ref.start)
    assert trip.distance_nm == pytest.approx(18.9, abs=0.4)
    assert trip.distance_nm == pytest.approx(ref.distance_nm, rel=0.005)
    ((stop,), (ref_stop,)) = (trip.stops, ref.stops)
    # The live feed samples the boat when its position changes (speed rides along with the next
    # fix); the pure run has every 2 s fix. The GPS (0.001' positions) reports no new position
    # from 12:03:54 to 12:04:15, so the slowdown it reports from 12:03:56 on reaches the detector
    # with the fix of 12:04:15: the stop starts there (pure: 12:03:59). Leaving, the speed rule
    # (0.8 kn for 2 min) dates the departure from the first 10 s bucket at 0.8 kn or more: live,
    # the bucket of the fixes 12:22:24-31 averages 0.51 kn, the next one (12:22:35-43) 0.92 kn.
    midnight = ref.start.replace(hour=0, minute=0, second=0)
    assert (stop.start, stop.end) == (
        midnight + timedelta(hours=12, minutes=4, seconds=15),
        midnight + timedelta(hours=12, minutes=22, seconds=35),
    )
    assert (ref_stop.start, ref_stop.end) == (
        midnight + timedelta(hours=12, minutes=3, seconds=59),
        midnight + timedelta(hours=12, minutes=22, seconds=24),
    )

    # one event so far, on the logbook's device, with a summary and never the track
    assert len(started) == 1 and not ended
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"logbook_{entry.entry_id}"), entry.entry_id
    )
    assert device is not None and device.name == TITLE
    data = started[0].data
    assert data["device_id"] == device.id
    assert (data["trip_id"], data["name"], data["start"]) == (ref.id, TITLE, ref.start.isoformat())
    assert data["conditions"]["start"] == {WIND: {"state": "12.5", "unit": "kn"}}
    assert "track" not in data and len(json.dumps(data)) < 2000

    assert state(hass, entry, "navigation_state") == "under_way"
    assert state(hass, entry, "moving", "binary_sensor") == "on"
    distance = hass.states.get(entity_id(hass, entry, "trip_distance"))
    assert distance is not None
    assert distance.attributes["unit_of_measurement"] == "nmi"
    assert float(distance.state) == pytest.approx(trip.distance_nm, abs=0.01)
    assert float(state(hass, entry, "trip_average_speed")) == pytest.approx(4.9, abs=0.2)
    assert float(state(hass, entry, "trip_duration")) == pytest.approx(
        (last - ref.start).total_seconds() / 3600, abs=0.01
    )
    assert state(hass, entry, "last_trip") == "unknown"
    # the log counts the open trip as it was 30 min ago (what a stop may take back is not in it),
    # as of the last save on disk: the settled distance the saved totals hold
    saved = hass_storage[store_key(entry.entry_id, "state")]["data"]["totals"]
    assert float(state(hass, entry, "total_distance")) == round(saved["distance_nm"], 3) == 15.702
    settled = source.detector.settled()
    assert settled is not None
    assert saved["distance_nm"] <= settled.distance_m / 1852 < trip.distance_nm

    # the boat comes to rest: 2 s later the GPS reports 0 kn, then nothing changes for 35 min
    freezer.tick(timedelta(seconds=2))
    hass.states.async_set(SPEED, "0.00", {"unit_of_measurement": "kn"})
    await hass.async_block_till_done()
    await let_time_pass(hass, freezer, last, 35)
    assert len(ended) == 1
    summary = ended[0].data
    assert summary["trip_id"] == ref.id and summary["device_id"] == device.id
    end = dt_util.parse_datetime(summary["end"])
    # the 0 kn report 2 s after the last fix is the first sample of the boat at rest: the arrival
    assert end == last + timedelta(seconds=2)
    assert summary["distance_nm"] == pytest.approx(ref.distance_nm, rel=0.005)
    assert summary["stops"] == 1
    assert summary["conditions"]["end"] == {WIND: {"state": "12.5", "unit": "kn"}}
    assert "track" not in summary
    assert state(hass, entry, "navigation_state") == "moored"
    assert state(hass, entry, "moving", "binary_sensor") == "off"
    assert state(hass, entry, "trip_distance") == "unknown"
    assert dt_util.parse_datetime(state(hass, entry, "last_trip")) == end
    last_trip = hass.states.get(entity_id(hass, entry, "last_trip"))
    assert last_trip is not None
    assert last_trip.attributes["id"] == ref.id and last_trip.attributes["trips"] == 1
    # the log never went backwards and keeps the trip
    assert totals == sorted(totals)
    assert totals[-1] == pytest.approx(summary["distance_nm"], abs=0.01)
    hours = float(state(hass, entry, "total_underway"))
    assert hours == pytest.approx(summary["underway_s"] / 3600, abs=0.01)
    # no engine and no power: those rows do not exist
    assert state(hass, entry, "navigation_state")
    assert not [s for s in hass.states.async_all("image") if s.entity_id.startswith("image.aurora")]

    # services on the finished trip
    listed = await _call(hass, "get_trips")
    assert listed["count"] == 1 and listed["trips"][0]["id"] == ref.id
    assert listed["totals"]["distance_nm"] == pytest.approx(summary["distance_nm"], abs=0.01)
    day = {"start": "2024-06-15T00:00:00+00:00", "end": "2024-06-16T00:00:00+00:00"}
    assert (await _call(hass, "get_trips", **day))["count"] == 1
    assert (await _call(hass, "get_trips", start="2024-06-16T00:00:00+00:00"))["count"] == 0
    one = await _call(hass, "get_trip", trip_id=ref.id)
    assert one == await _call(hass, "get_trip")  # the latest by default
    assert one["trip"]["id"] == ref.id and "open" not in one["trip"]
    assert len(one["stops"]) == 1
    track = one["track"]
    assert len(track) == 92  # the 1,352 points of the trip (below) simplified at 10 m
    assert track[0]["time"] == ref.start.isoformat()
    assert track[0]["latitude"] == pytest.approx(ref.start_latitude, abs=1e-5)

    # GPX 1.1 of the trip, read back with gpxpy
    exported = await _call(hass, "export_trips", trip_id=ref.id, include_content=True)
    path = Path(exported["path"])
    assert path.parent == tmp_path / DOMAIN and path.suffix == ".gpx"
    assert exported["media_content_id"].endswith(f"/{DOMAIN}/{path.name}")
    text = path.read_text()
    assert text == exported["content"] and exported["size"] == len(text.encode())
    gpx = gpxpy.parse(text)
    assert gpx.version == "1.1"
    (gpx_track,) = gpx.tracks
    points = [p for segment in gpx_track.segments for p in segment.points]
    stored = await source.async_finished(ref.id)
    # every point the trip recorded: one per bucket under way (a bucket closes at the first fix
    # 10 s or more after its first)
    assert len(points) == len(stored.points) == 1352
    assert all(p.time is not None for p in points)
    assert points[0].time == ref.start
    assert points[-1].time is not None and points[-1].time <= end
    speeds = [
        float(child.text or "nan")
        for p in points
        for ext in p.extensions
        for child in ext
        if child.tag == f"{{{GPXTPX_NS}}}speed"
    ]
    # every point has its speed but the first: the departure point (the fix before the trip's
    # first bucket) has none
    assert [p.speed is None for p in stored.points].index(True) == 0
    assert len(speeds) == len(points) - 1
    assert max(speeds) / KNOT == pytest.approx(7.1, abs=0.3)
    names = [w.name or "" for w in gpx.waypoints]
    assert [n.rsplit(": ", 1)[1] for n in names] == ["departure", "stop 1", "arrival"]
    distance_m = gpx_track.length_2d()
    assert distance_m / 1852 == pytest.approx(summary["distance_nm"], rel=0.02)
    # the same trip through a date range
    ranged = await _call(hass, "export_trips", format="gpx", **day)
    assert ranged["items"] == 1
    assert len(gpxpy.parse(Path(ranged["path"]).read_text()).tracks) == 1


async def test_restart_in_the_middle_of_a_trip_resumes_it(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    samples, ref = reference()
    split = 2000
    down = 60  # samples (2 minutes) while Home Assistant restarts
    freezer.move_to(samples[0].time)
    entry = await setup_logbook(hass, logbook_entry())
    started = async_capture_events(hass, EVENT_TRIP_STARTED)
    await drive(hass, freezer, samples[:split])
    before = _source(entry).detector.trip
    assert before is not None and _source(entry).detector.state == "underway"
    distance_before = before.distance_nm
    # the delayed saves already hold the open trip, before any unload
    saved = hass_storage[store_key(entry.entry_id, "state")]["data"]
    assert saved["detector"]["state"]["_trip"]["id"] == ref.id
    assert hass_storage[store_key(entry.entry_id, "open_track")]["data"]["trip_id"] == ref.id

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert state(hass, entry, "navigation_state") == "unavailable"
    freezer.move_to(samples[split + down].time)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    resumed = _source(entry)
    trip = resumed.detector.trip
    assert trip is not None and trip.id == ref.id
    assert trip.distance_nm == pytest.approx(distance_before, abs=0.02)
    assert state(hass, entry, "navigation_state") == "under_way"
    assert float(state(hass, entry, "trip_distance")) == pytest.approx(distance_before, abs=0.02)

    await drive(hass, freezer, samples[split + down :])
    trip = resumed.detector.trip
    assert trip is not None and trip.id == ref.id and trip.end is None
    assert len(trip.stops) == 1
    assert trip.distance_nm == pytest.approx(ref.distance_nm, rel=0.01)
    assert len(started) == 1, "the resumed trip is not announced again"
    # the open trip's points run on across the restart
    points = resumed.recorder.points
    assert points[0].time == ref.start and points[-1] == trip.track[-1]
    # the trip's time runs to where its last folded legs end: the next fix, 2 s on
    assert (trip.last_time - points[-1].time).total_seconds() == 2
    # the open trip through the services
    current = await _call(hass, "get_trip")
    assert current["trip"]["id"] == ref.id and current["trip"]["open"] is True
    assert len(current["stops"]) == 1 and len(current["track"]) == len(trip.track) == 1322
    listed = await _call(hass, "get_trips")
    assert listed["count"] == 1 and listed["trips"][0]["open"] is True


async def test_an_unreadable_saved_state_starts_afresh(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = logbook_entry()
    hass_storage[store_key(entry.entry_id, "state")] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(entry.entry_id, "state"),
        "data": {"detector": {"version": 99}, "totals": {"distance_nm": 12.5}},
    }
    boat = Boat(step=2.0, jitter_m=0.5).rest(60)
    freezer.move_to(boat.samples[0].time)
    await setup_logbook(hass, entry)
    assert "the saved trip state is unreadable" in caplog.text
    await drive(hass, freezer, boat.samples)
    assert state(hass, entry, "navigation_state") == "moored"
    assert float(state(hass, entry, "total_distance")) == 12.5  # the log is kept


async def test_a_restart_longer_than_the_data_gap_ends_the_trip_at_its_last_fix(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    boat = Boat(step=2.0, jitter_m=0.5).rest(120).go(900, 5.0)
    freezer.move_to(boat.samples[0].time)
    entry = await setup_logbook(hass, logbook_entry())
    ended = async_capture_events(hass, EVENT_TRIP_ENDED)
    last = await drive(hass, freezer, boat.samples)
    assert last is not None and _source(entry).detector.trip is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    freezer.move_to(last + timedelta(hours=2))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(ended) == 1
    assert ended[0].data["end"] == last.isoformat()
    assert ended[0].data["distance_nm"] == pytest.approx(900 * 5 / 3600, abs=0.005)  # 0.5 m noise
    assert state(hass, entry, "navigation_state") == "moored"


async def test_electric_boat_energy_engine_hours_and_the_efficiency_curve(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Table A's boat with its motor power and a motor-running sensor, and a 60 W house load."""
    samples = electric_boat()[::2]
    freezer.move_to(samples[0].time)
    entry = await setup_logbook(
        hass,
        logbook_entry(
            data={"power": POWER, "engine": ENGINE},
            options={"fit_max_speed": 4.8, "house_load": 60},
        ),
    )
    ended = async_capture_events(hass, EVENT_TRIP_ENDED)
    image_id = entity_id(hass, entry, "efficiency_version", "image")
    empty = await async_get_image(hass, image_id)
    assert b"No steady-state samples yet" in empty.content
    await drive(hass, freezer, samples)

    assert len(ended) == 1
    summary = ended[0].data
    start = dt_util.parse_datetime(summary["start"])
    end = dt_util.parse_datetime(summary["end"])
    assert start is not None and end is not None
    held = sum(2.0 * (s.power or 0.0) for s in samples if start <= s.time < end) / 3600
    assert summary["energy_wh"] == round(held, 1)
    # the motor runs 760 s per row of the table; the trip starts with the first 10 s bucket that
    # moves (the first one, accelerating from 0 kn, is still below 0.5 kn): 10 s less
    assert summary["engine_hours"] == round((760 * len(TABLE_A) - 10) / 3600, 3)
    assert summary["underway_s"] == 760 * len(TABLE_A) - 10
    assert summary["mode"] == "motoring"
    assert summary["wh_per_nm"] == pytest.approx(
        summary["energy_wh"] / summary["distance_nm"], abs=0.1
    )
    assert float(state(hass, entry, "total_energy")) == pytest.approx(held / 1000, rel=0.02)
    assert float(state(hass, entry, "total_engine_hours")) == pytest.approx(
        summary["engine_hours"], abs=0.01
    )
    assert state(hass, entry, "trip_energy") == "unknown"

    # the curve: P = a·v³ within 10 % of the table's own fit, v* from the 60 W house load
    curve = await _call(hass, "get_efficiency")
    a = curve["a_w_per_kn3"]
    assert a == pytest.approx(table_a(), rel=0.10)
    assert curve["house_load_w"] == 60
    assert curve["best_speed_kn"] == pytest.approx((60 / (2 * a)) ** (1 / 3), abs=0.01)
    assert curve["trips"] == [summary["trip_id"]]
    by_bin = {p["bin_low_kn"]: p for p in curve["points"]}
    for power, knots, wh_per_nm in TABLE_A:
        if knots in (5.1, 5.3):  # these share the 5.0-5.5 kn bin
            continue
        point = by_bin[math.floor(knots / 0.5) * 0.5]
        assert point["power_w"] == pytest.approx(power, rel=0.05)
        assert point["wh_per_nm"] == pytest.approx(wh_per_nm, rel=0.05)

    image_state = hass.states.get(image_id)
    assert image_state is not None
    assert image_state.attributes["a_w_per_kn3"] == a
    assert image_state.attributes["best_speed_kn"] == curve["best_speed_kn"]
    image = await async_get_image(hass, image_id)
    assert image.content_type == "image/svg+xml"
    svg = ET.fromstring(image.content)
    circles = svg.findall(".//{http://www.w3.org/2000/svg}circle")
    # one per 0.5 kn bin holding steady samples: table A's seven rows, 5.1 and 5.3 kn sharing
    # the 5.0-5.5 kn bin and the 3.0 kn row's samples (+-0.05 kn) falling on both sides of 3.0
    assert [p["bin_low_kn"] for p in curve["points"]] == [2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5]
    assert len(circles) == len(curve["points"]) == 7
    assert svg.findall(".//{http://www.w3.org/2000/svg}polyline")
    assert "most economical 1.7 kn" in image.content.decode()

    name, message = describe_trip_event(EVENT_TRIP_ENDED, summary)
    assert name == TITLE
    assert message.startswith(f"ended a trip: {summary['distance_nm']:.2f} nm in ")
    assert "engine 1.5 h" in message and f"{summary['wh_per_nm']:.0f} Wh/nm" in message


async def test_start_and_end_a_trip_by_hand(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    boat = Boat(step=2.0, jitter_m=0.5).rest(180)
    freezer.move_to(boat.samples[0].time)
    entry = await setup_logbook(hass, logbook_entry())
    started = async_capture_events(hass, EVENT_TRIP_STARTED)
    ended = async_capture_events(hass, EVENT_TRIP_ENDED)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_trip")
    assert err.value.translation_key == "no_position"
    await drive(hass, freezer, boat.samples)
    assert state(hass, entry, "navigation_state") == "moored"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "end_trip")
    assert err.value.translation_key == "no_open_trip"

    begun = await _call(hass, "start_trip")
    assert begun["trip"]["open"] is True
    assert len(started) == 1 and started[0].data["trip_id"] == begun["trip"]["id"]
    assert state(hass, entry, "navigation_state") == "under_way"
    n = len(boat.samples)
    boat.go(600, 5.0)
    await drive(hass, freezer, boat.samples[n:])
    done = await _call(hass, "end_trip")
    assert done["trip"]["id"] == begun["trip"]["id"]
    assert done["trip"]["distance_nm"] == pytest.approx(600 * 5 / 3600, abs=0.001)  # 0.5 m noise
    assert len(ended) == 1 and ended[0].data["trip_id"] == done["trip"]["id"]
    assert state(hass, entry, "navigation_state") == "moored"
    assert (await _call(hass, "get_trips"))["count"] == 1

    # started by hand and ended at once: below the minimums, dropped
    assert (await _call(hass, "start_trip"))["trip"]["open"] is True
    assert (await _call(hass, "end_trip")) == {"trip": None}
    assert len(ended) == 1 and (await _call(hass, "get_trips"))["count"] == 1


async def test_anchor_alarm_makes_the_boat_anchored(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    boat = Boat(step=2.0, jitter_m=0.5).rest(60)
    boat.alarm = True
    boat.rest(60)
    freezer.move_to(boat.samples[0].time)
    entry = await setup_logbook(hass, logbook_entry(data={"anchor": ANCHOR}))
    await drive(hass, freezer, boat.samples)
    assert state(hass, entry, "navigation_state") == "anchored"
    nav = hass.states.get(entity_id(hass, entry, "navigation_state"))
    assert nav is not None and nav.attributes["propulsion"] is None


async def test_latitude_and_longitude_sensors_make_whole_fixes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Latitude and longitude as two sensors, written 0.5 s apart: each fix is committed once
    both have changed (no L-shaped legs); heading due north only the latitude changes, and the
    fix is committed 2 s later on its own."""
    lat_id, lon_id = "sensor.gps_latitude", "sensor.gps_longitude"
    t0 = datetime(2024, 6, 15, 8, 0, tzinfo=dt_util.UTC)
    freezer.move_to(t0)
    lat0, lon0 = 60.15, 24.95
    k_lon = M_PER_DEG * math.cos(math.radians(lat0))
    hass.states.async_set(lat_id, str(lat0))
    hass.states.async_set(lon_id, str(lon0))
    entry = await setup_logbook(
        hass,
        logbook_entry(data={"position": lat_id, "longitude": lon_id, "speed": None}),
    )
    x = y = 0.0
    when = t0
    step = 4.0
    legs = [(0.0, 300, 45.0), (6.0, 600, 45.0), (6.0, 600, 0.0)]  # knots, seconds, heading
    for knots, seconds, heading in legs:
        for _ in range(round(seconds / step)):
            x += knots * KNOT * step * math.sin(math.radians(heading))
            y += knots * KNOT * step * math.cos(math.radians(heading))
            when += timedelta(seconds=step)
            freezer.move_to(when)
            hass.states.async_set(lat_id, f"{lat0 + y / M_PER_DEG:.7f}")
            await hass.async_block_till_done()
            freezer.move_to(when + timedelta(seconds=0.5))
            hass.states.async_set(lon_id, f"{lon0 + x / k_lon:.7f}")
            await hass.async_block_till_done()
            freezer.move_to(when + timedelta(seconds=2.6))
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
    trip = _source(entry).detector.trip
    assert trip is not None
    assert trip.distance_nm == pytest.approx(6.0 * 1200 / 3600, rel=0.02)
    assert _source(entry).detector.stats["jump"] == 0


async def test_service_errors(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, tmp_path: Path
) -> None:
    hass.config.media_dirs = {"local": str(tmp_path)}
    freezer.move_to(datetime(2024, 6, 15, 8, 0, tzinfo=dt_util.UTC))

    async def error(service: str, **data: Any) -> str:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, service, **data)
        assert err.value.translation_domain == DOMAIN
        return str(err.value.translation_key)

    entry = await setup_logbook(hass, logbook_entry())
    assert await error("get_trip") == "no_trips"
    assert await error("get_trip", trip_id="20240101T000000Z") == "trip_not_found"
    assert await error("get_trips", start="2024-06-16", end="2024-06-15") == "bad_range"
    assert await error("export_trips") == "range_incomplete"
    assert await error("export_trips", start="2024-06-15") == "range_incomplete"
    assert await error("export_trips", start="2024-06-15", end="2024-06-16") == "nothing_to_export"
    assert (
        await error("export_trips", trip_id="x", start="2024-06-15", end="2024-06-16")
        == "trip_or_range"
    )
    assert (
        await error("export_trips", format="csv", start="2024-01-01", end="2024-06-16")
        == "range_too_long"
    )
    assert (
        await error("export_trips", format="csv", start="2024-06-15", end="2024-06-16")
        == "recorder_needed"
    )
    assert await error("rebuild_trips", start="2024-06-15", end="2024-06-16") == "recorder_needed"
    assert await error("get_trips", config_entry_id="nope") == "not_a_logbook"
    other = MockConfigEntry(domain=DOMAIN, data={"entry_type": "vedirect"}, title="BMV")
    other.add_to_hass(hass)
    assert await error("get_trips", config_entry_id=other.entry_id) == "not_a_logbook"
    second = logbook_entry(data={"position": "device_tracker.dinghy"})
    second.add_to_hass(hass)  # not set up
    assert await error("get_trips") == "choose_logbook"
    assert await error("get_trips", config_entry_id=second.entry_id) == "logbook_not_loaded"
    ok = await _call(hass, "get_trips", config_entry_id=entry.entry_id)
    assert ok == {"trips": [], "count": 0, "totals": ok["totals"]}
    assert set(ok["totals"]) == {"distance_nm", "underway_h", "engine_hours", "energy_kwh"}

    # services.yaml describes every action and every field the schemas accept
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions) == set(SCHEMAS)
    for name, schema in SCHEMAS.items():
        assert set(descriptions[name]["fields"]) == {str(key) for key in schema.schema}, name
    assert descriptions["get_trips"]["response"] == {"optional": False}
    assert descriptions["export_trips"]["response"] == {"optional": True}


async def test_diagnostics_and_removal(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    boat = Boat(step=2.0, jitter_m=0.5).rest(120).go(900, 5.0).rest(1500)
    freezer.move_to(boat.samples[0].time)
    entry = await setup_logbook(hass, logbook_entry())
    await drive(hass, freezer, boat.samples)
    await let_time_pass(hass, freezer, boat.samples[-1].time, 1)
    assert (await _call(hass, "get_trips"))["count"] == 1
    trip_id = (await _call(hass, "get_trips"))["trips"][0]["id"]

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    logbook = diagnostics["source"]
    assert logbook["trips"] == 1
    assert logbook["detector"]["state"] == "at_rest"
    assert logbook["settings"]["entities"] == [TRACKER, SPEED, WIND]
    text = json.dumps(diagnostics)
    assert "latitude" not in text and f"{boat.position[0]:.4f}" not in text

    track_key = store_key(entry.entry_id, f"track.{trip_id}")
    assert track_key in hass_storage
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    left = [key for key in hass_storage if key.startswith(f"{DOMAIN}.logbook.{entry.entry_id}")]
    assert left == []


async def test_positions_without_a_fix_and_unknown_units_are_ignored(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    boat = Boat(step=2.0, jitter_m=0.5).rest(60)
    freezer.move_to(boat.samples[0].time)
    entry = await setup_logbook(hass, logbook_entry())
    await drive(hass, freezer, boat.samples)
    accepted = _source(entry).detector.stats["accepted"]
    # a tracker without a fix, then one with garbage attributes: no samples, no errors
    hass.states.async_set(TRACKER, "unavailable", {})
    await hass.async_block_till_done()
    hass.states.async_set(TRACKER, "not_home", {"latitude": "x", "longitude": None})
    hass.states.async_set(SPEED, "fast", {"unit_of_measurement": "kn"})
    await hass.async_block_till_done()
    assert _source(entry).detector.stats["accepted"] == accepted
    assert not _source(entry).feed.position_available()
    # the fix comes back, with a speed in an odd unit: the speed is dropped, not the fix
    freezer.tick(timedelta(seconds=70))
    hass.states.async_set(SPEED, "3", {"unit_of_measurement": "furlong/fortnight"})
    hass.states.async_set(TRACKER, "not_home", tracker_attributes(boat.samples[-1]))
    await hass.async_block_till_done()
    assert _source(entry).detector.stats["accepted"] == accepted + 1
    assert _source(entry).feed.sample(dt_util.utcnow()).speed is None  # type: ignore[union-attr]

"""GPX 1.1 and CSV export, read back with gpxpy and the csv module."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
import io
import itertools
import math
import xml.etree.ElementTree as ET

import gpxpy
import pytest

from custom_components.victron_venus.trips.detector import (
    KNOT,
    Sample,
    TrackPoint,
    TrackPointAdded,
    Trip,
    TripDetector,
)
from custom_components.victron_venus.trips.export import (
    CSV_COLUMNS,
    GPXTPX_NS,
    points_to_gpx,
    rows_to_csv,
    split_segments,
    trips_to_csv,
    trips_to_gpx,
)
from tests.shared import fixture_path
from tests.trips.nmea import load_nmea
from tests.trips.test_detector import Boat

GPX11 = "{http://www.topografix.com/GPX/1/1}"


@pytest.fixture(scope="module")
def plaka_run() -> tuple[Trip, list[TrackPoint]]:
    det = TripDetector()
    events = det.feed(load_nmea(fixture_path("gps", "plaka.nmea")))
    (trip,) = det.finish()
    return trip, [e.point for e in events if isinstance(e, TrackPointAdded)]


def _ext(point: gpxpy.gpx.GPXTrackPoint) -> dict[str, float]:
    out: dict[str, float] = {}
    for ext in point.extensions:
        for child in ext:
            out[child.tag.removeprefix(f"{{{GPXTPX_NS}}}")] = float(child.text or "nan")
    return out


def test_trip_gpx_reads_back(plaka_run: tuple[Trip, list[TrackPoint]]) -> None:
    trip, _ = plaka_run
    text = trips_to_gpx([trip])
    root = ET.fromstring(text)
    assert root.tag == f"{GPX11}gpx" and root.get("version") == "1.1"
    assert root.find(f".//{GPX11}trkpt/{GPX11}speed") is None  # not a GPX 1.1 field

    gpx = gpxpy.parse(text)
    (track,) = gpx.tracks
    assert track.name == "Trip 2024-06-15 09:55 UTC"
    (segment,) = track.segments  # no data gap in the recording
    assert len(segment.points) == len(trip.track)
    for got, want in zip(segment.points, trip.track, strict=True):
        assert got.time == want.time
        assert got.latitude == pytest.approx(want.latitude, abs=1e-9)
        assert got.longitude == pytest.approx(want.longitude, abs=1e-9)
        ext = _ext(got)
        if want.speed is not None:
            assert ext["speed"] == pytest.approx(want.speed, abs=0.001)
        if want.course is not None:
            assert ext["course"] == pytest.approx(want.course, abs=0.05)
    # speed and course are written for exactly the points that have them: every point but the
    # two the detector makes itself (the GPS gives SOG and COG with every fix), the departure
    # and the stop's arrival
    made = [trip.start, trip.stops[0].start]
    assert [p.time for p in trip.track if p.speed is None] == made
    assert [p.time for p in trip.track if p.course is None] == made
    assert [p.time for p in segment.points if "speed" not in _ext(p)] == made
    assert [p.time for p in segment.points if "course" not in _ext(p)] == made
    # departure and the stop; no arrival, the trip is open
    names = [w.name for w in gpx.waypoints]
    assert names == ["Trip 2024-06-15 09:55 UTC: departure", "Trip 2024-06-15 09:55 UTC: stop 1"]
    stop = gpx.waypoints[1]
    assert stop.time == trip.stops[0].start
    assert stop.latitude == pytest.approx(trip.stops[0].latitude)
    # length of what was written matches the trip's distance (simplified track: a little less)
    assert gpx.length_2d() / 1852 == pytest.approx(trip.distance_nm, rel=0.03)


def test_full_resolution_points_from_events(plaka_run: tuple[Trip, list[TrackPoint]]) -> None:
    trip, points = plaka_run
    # every point the events announced, one per bucket under way: 1,389 (the trip's own track
    # has 1,344: less the 47 the stop took back, plus its arrival point and the last bucket's)
    assert (len(points), len(trip.track)) == (1389, 1344)
    gpx = gpxpy.parse(trips_to_gpx([trip], tracks={trip.id: points}))
    assert gpx.get_track_points_no() == len(points)
    times = [p.time for p in gpx.tracks[0].segments[0].points]
    assert None not in times and times[0] == points[0].time
    assert all(a < b for a, b in itertools.pairwise(times))  # type: ignore[operator]


def test_one_segment_per_data_gap() -> None:
    boat = Boat().rest(300).go(1200, 5.0).gap(600, 5.0).go(1200, 5.0).gap(900, 5.0)
    boat.go(900, 5.0).rest(1800)
    det = TripDetector()
    events = det.feed(boat.samples)
    (trip,) = det.finish()
    gpx = gpxpy.parse(trips_to_gpx([trip]))
    segments = gpx.tracks[0].segments
    assert len(segments) == 3
    for before, after in itertools.pairwise(segments):
        first, last = after.points[0].time, before.points[-1].time
        assert first is not None and last is not None
        assert first - last >= timedelta(minutes=10)
    # raw points: cut on the segment numbers, or on time gaps when they have none
    raw = [e.point for e in events if isinstance(e, TrackPointAdded)]
    assert len(gpxpy.parse(points_to_gpx(raw)).tracks[0].segments) == 3
    plain = [
        Sample(s.time, s.latitude, s.longitude, s.speed) for s in boat.samples
    ]  # no `segment` attribute at all
    assert len(gpxpy.parse(points_to_gpx(plain)).tracks[0].segments) == 3  # type: ignore[arg-type]
    assert len(gpxpy.parse(points_to_gpx(plain, gap_s=None)).tracks[0].segments) == 1  # type: ignore[arg-type]


def test_waypoints_per_stop_and_arrival() -> None:
    boat = Boat().rest(300).go(1200, 5.0).rest(720)  # a 12 min stop
    boat.go(1200, 5.0, heading=0.0)
    boat.alarm = True  # 10 min at anchor
    boat.rest(600)
    boat.alarm = False
    boat.go(600, 5.0, heading=180.0).rest(1800)
    det = TripDetector()
    det.feed(boat.samples)
    (trip,) = det.finish()
    assert len(trip.stops) == 2 and trip.end is not None
    gpx = gpxpy.parse(trips_to_gpx([trip]))
    kinds = [(w.name or "").split(": ")[1] for w in gpx.waypoints]
    assert kinds == ["departure", "stop 1", "stop 2", "arrival"]
    assert [w.symbol for w in gpx.waypoints][1:3] == ["Flag, Blue", "Anchor"]
    assert gpx.waypoints[-1].time == trip.end
    assert "left" in (gpx.waypoints[1].comment or "")
    # the raw-points variant: a waypoint per stop given
    text = points_to_gpx(trip.track, name="x", stops=trip.stops)
    assert [w.name for w in gpxpy.parse(text).waypoints] == ["Stop 1", "Stop 2"]


def test_several_trips_and_empty_values() -> None:
    t = datetime(2024, 6, 15, 8, 0, tzinfo=UTC)
    trips = []
    for i in range(3):
        start = t + timedelta(hours=3 * i)
        trip = Trip(
            f"t{i}",
            start,
            60.0,
            24.0 + i,
            start + timedelta(hours=1),
            end=start + timedelta(hours=1),
            end_latitude=60.1,
            end_longitude=24.1 + i,
        )
        trip.track = [
            TrackPoint(
                start + timedelta(minutes=m),
                60.0 + m / 600,
                24.0 + i,
                None if m == 0 else 2.5,
                math.nan if m == 1 else None,
            )
            for m in range(60)
        ]
        trips.append(trip)
    gpx = gpxpy.parse(trips_to_gpx(trips))
    assert len(gpx.tracks) == 3
    assert len(gpx.waypoints) == 6
    first = gpx.tracks[0].segments[0].points
    assert first[0].extensions == [] and first[1].extensions and _ext(first[1]) == {"speed": 2.5}


def test_split_segments_by_time() -> None:
    t = datetime(2024, 6, 15, 8, 0, tzinfo=UTC)
    points = [TrackPoint(t + timedelta(seconds=s), 60.0, 24.0) for s in (0, 10, 20, 400, 410, 2000)]
    assert [len(p) for p in split_segments(points, 300)] == [3, 2, 1]
    assert [len(p) for p in split_segments(points, None)] == [6]
    assert split_segments([], 300) == []


def test_csv_header_and_rows() -> None:
    t = datetime(2024, 6, 15, 8, 0, tzinfo=UTC)
    rows = [
        {
            "timestamp": t,
            "soc": 87.5,
            "current": -12.25,
            "voltage": 13.21,
            "gps_lat": 60.084516666,
            "gps_lon": 23.5391,
            "gps_speed": 5.81 * KNOT,
            "motor_power": 600.0,
            "ignored": "x",
        },
        {
            "timestamp": t.astimezone(timezone(timedelta(hours=3))) + timedelta(seconds=1),
            "soc": 87.4,
            "current": None,
            "voltage": math.nan,
            "battery_power": -161.7,
        },
        {"timestamp": datetime(2024, 6, 15, 8, 0, 2), "soc": 87, "gps_speed": 0.0},
    ]
    text = rows_to_csv(rows, power_columns=["motor_power", "battery_power"])
    assert text.startswith(
        "timestamp,soc,current,voltage,gps_lat,gps_lon,gps_speed,motor_power,battery_power\r\n"
    )
    assert text.count("\r\n") == 4
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["timestamp"] for r in parsed] == [
        "2024-06-15T08:00:00+00:00",
        "2024-06-15T08:00:01+00:00",
        "2024-06-15T08:00:02+00:00",
    ]
    first, second, third = parsed
    assert float(first["gps_lat"]) == 60.084516666  # full precision, round-trips
    assert float(first["gps_speed"]) == 5.81 * KNOT
    assert first["motor_power"] == "600.0" and first["battery_power"] == ""
    assert second["current"] == "" and second["voltage"] == "" and second["gps_lat"] == ""
    assert second["battery_power"] == "-161.7"
    assert third["soc"] == "87" and third["gps_speed"] == "0.0"
    assert rows_to_csv([]) == ",".join(CSV_COLUMNS) + "\r\n"
    with pytest.raises(ValueError):
        rows_to_csv([], power_columns=["soc"])


def test_trips_csv(plaka_run: tuple[Trip, list[TrackPoint]]) -> None:
    trip, _ = plaka_run
    parsed = list(csv.DictReader(io.StringIO(trips_to_csv([trip, trip]))))
    assert len(parsed) == 2
    row = parsed[0]
    assert row["id"] == trip.id and row["end"] == ""
    assert float(row["distance_nm"]) == pytest.approx(trip.distance_nm, abs=0.001)
    assert row["stops"] == "1" and row["energy_wh"] == ""

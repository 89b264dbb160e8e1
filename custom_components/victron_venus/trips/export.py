"""GPX 1.1 and CSV export of the logbook. Pure functions returning text (no files, no HA).

GPX: one `<trk>` per trip, a new `<trkseg>` after every data gap, a time on every point, speed (m/s)
and course (degrees true) in the Garmin TrackPointExtension v2 (GPX 1.1 has no speed or course
fields), and a `<wpt>` for the departure, every stop and the arrival. Built and serialised with
gpxpy.

CSV: the columns `timestamp,soc,current,voltage,gps_lat,gps_lon,gps_speed` plus the power columns
asked for, one row per sample; RFC 4180 (comma, CRLF). Values are written as given (SI units:
% for soc, A, V, degrees, m/s, W), empty when missing; timestamps as ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import csv
from datetime import UTC, datetime
import io
import math
from typing import Any, Protocol
import xml.etree.ElementTree as ET

import gpxpy
import gpxpy.gpx

from .detector import Trip

GPXTPX_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
GPXTPX_XSD = "https://www8.garmin.com/xmlschemas/TrackPointExtensionv2.xsd"
CSV_COLUMNS = ("timestamp", "soc", "current", "voltage", "gps_lat", "gps_lon", "gps_speed")
DEFAULT_GAP_S = 300.0


class PointLike(Protocol):
    """What a track point needs (detector.TrackPoint fits; `segment` is optional)."""

    @property
    def time(self) -> datetime: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def speed(self) -> float | None: ...
    @property
    def course(self) -> float | None: ...


class StopLike(Protocol):
    """What a stop needs (detector.Stop fits)."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime | None: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def split_segments(
    points: Iterable[PointLike], gap_s: float | None = DEFAULT_GAP_S
) -> list[list[PointLike]]:
    """Cut a point sequence where `segment` changes or, with gap_s, where time jumps by more."""
    segments: list[list[PointLike]] = []
    prev: PointLike | None = None
    for point in points:
        if (
            prev is None
            or getattr(point, "segment", None) != getattr(prev, "segment", None)
            or (gap_s is not None and (point.time - prev.time).total_seconds() > gap_s)
        ):
            segments.append([])
        segments[-1].append(point)
        prev = point
    return segments


def _extension(speed: float | None, course: float | None) -> ET.Element | None:
    if speed is None and course is None:
        return None
    ext = ET.Element(f"{{{GPXTPX_NS}}}TrackPointExtension")
    if speed is not None and math.isfinite(speed):
        ET.SubElement(ext, f"{{{GPXTPX_NS}}}speed").text = f"{speed:.3f}"
    if course is not None and math.isfinite(course):
        ET.SubElement(ext, f"{{{GPXTPX_NS}}}course").text = f"{course % 360.0:.2f}"
    return ext if len(ext) else None


def _new_gpx(creator: str) -> gpxpy.gpx.GPX:
    gpx = gpxpy.gpx.GPX()
    gpx.creator = creator
    gpx.nsmap["gpxtpx"] = GPXTPX_NS
    gpx.schema_locations = [
        "http://www.topografix.com/GPX/1/1",
        "http://www.topografix.com/GPX/1/1/gpx.xsd",
        GPXTPX_NS,
        GPXTPX_XSD,
    ]
    return gpx


def _add_track(
    gpx: gpxpy.gpx.GPX, name: str | None, points: Iterable[PointLike], gap_s: float | None
) -> gpxpy.gpx.GPXTrack:
    track = gpxpy.gpx.GPXTrack(name=name)
    gpx.tracks.append(track)
    for part in split_segments(points, gap_s):
        segment = gpxpy.gpx.GPXTrackSegment()
        for p in part:
            point = gpxpy.gpx.GPXTrackPoint(p.latitude, p.longitude, time=_utc(p.time))
            ext = _extension(p.speed, p.course)
            if ext is not None:
                point.extensions.append(ext)
            segment.points.append(point)
        track.segments.append(segment)
    return track


def _waypoint(
    name: str,
    position: tuple[float, float],
    when: datetime,
    symbol: str,
    comment: str | None = None,
) -> gpxpy.gpx.GPXWaypoint:
    lat, lon = position
    return gpxpy.gpx.GPXWaypoint(
        lat, lon, time=_utc(when), name=name, symbol=symbol, comment=comment
    )


def _stop_comment(stop: StopLike) -> str:
    end = "-" if stop.end is None else _utc(stop.end).isoformat()
    return f"arrived {_utc(stop.start).isoformat()}, left {end}"


def points_to_gpx(
    points: Iterable[PointLike],
    *,
    name: str | None = None,
    stops: Iterable[StopLike] = (),
    gap_s: float | None = DEFAULT_GAP_S,
    creator: str = "victron_venus",
) -> str:
    """One track from raw points (e.g. persisted TrackPointAdded points or recorder history),
    a segment per data gap longer than gap_s (and per `segment` change), a waypoint per stop."""
    gpx = _new_gpx(creator)
    for i, stop in enumerate(stops, 1):
        gpx.waypoints.append(
            _waypoint(
                f"Stop {i}",
                (stop.latitude, stop.longitude),
                stop.start,
                "Anchor" if getattr(stop, "anchored", False) else "Flag",
                _stop_comment(stop),
            )
        )
    _add_track(gpx, name, points, gap_s)
    return gpx.to_xml(version="1.1")


def trips_to_gpx(
    trips: Iterable[Trip],
    *,
    tracks: Mapping[str, Sequence[PointLike]] | None = None,
    gap_s: float | None = None,
    creator: str = "victron_venus",
) -> str:
    """One `<trk>` per trip, named by its start time; waypoints for departure, stops, arrival.

    Points come from `tracks[trip.id]` when given (e.g. the full-resolution points the caller
    persisted from TrackPointAdded events), else from the trip's simplified track. Segments follow
    the points' `segment` numbers (data gaps seen by the detector); pass gap_s to also cut where
    time jumps (do not for simplified tracks, whose straight stretches have long steps).
    """
    gpx = _new_gpx(creator)
    for trip in trips:
        start = _utc(trip.start)
        name = f"Trip {start:%Y-%m-%d %H:%M} UTC"
        points: Sequence[PointLike] = (
            tracks[trip.id] if tracks is not None and trip.id in tracks else trip.track
        )
        track = _add_track(gpx, name, points, gap_s)
        track.description = (
            f"{trip.distance_nm:.2f} nm, {trip.duration_s / 3600.0:.2f} h, "
            f"max {trip.max_speed_kn:.1f} kn"
        )
        gpx.waypoints.append(
            _waypoint(
                f"{name}: departure",
                (trip.start_latitude, trip.start_longitude),
                trip.start,
                "Flag, Green",
            )
        )
        for i, stop in enumerate(trip.stops, 1):
            gpx.waypoints.append(
                _waypoint(
                    f"{name}: stop {i}",
                    (stop.latitude, stop.longitude),
                    stop.start,
                    "Anchor" if stop.anchored else "Flag, Blue",
                    _stop_comment(stop),
                )
            )
        if (
            trip.end is not None
            and trip.end_latitude is not None
            and trip.end_longitude is not None
        ):
            gpx.waypoints.append(
                _waypoint(
                    f"{name}: arrival",
                    (trip.end_latitude, trip.end_longitude),
                    trip.end,
                    "Flag, Red",
                )
            )
    return gpx.to_xml(version="1.1")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    return str(value)


def rows_to_csv(rows: Iterable[Mapping[str, Any]], power_columns: Sequence[str] = ()) -> str:
    """CSV of samples: timestamp,soc,current,voltage,gps_lat,gps_lon,gps_speed + power_columns.

    Each row is a mapping by column name; missing keys give empty cells, other keys are ignored.
    """
    columns = list(CSV_COLUMNS)
    for col in power_columns:
        if col in columns:
            raise ValueError(f"duplicate CSV column {col!r}")
        columns.append(col)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in columns])
    return out.getvalue()


TRIP_COLUMNS = (
    "id",
    "start",
    "end",
    "start_latitude",
    "start_longitude",
    "end_latitude",
    "end_longitude",
    "distance_nm",
    "log_nm",
    "duration_s",
    "underway_s",
    "moving_s",
    "engine_hours",
    "energy_wh",
    "wh_per_nm",
    "max_speed_kn",
    "avg_speed_kn",
    "mode",
    "stops",
)


def trips_to_csv(trips: Iterable[Trip]) -> str:
    """CSV of the trips table (one row per trip, the `Trip.summary()` figures)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TRIP_COLUMNS)
    for trip in trips:
        summary = trip.summary()
        writer.writerow([_cell(summary.get(col)) for col in TRIP_COLUMNS])
    return out.getvalue()

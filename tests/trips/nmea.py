"""Test helper: NMEA 0183 (GLL positions, VTG speed over ground) to detector Samples.

Only what the logbook tests need: every sentence's checksum is verified and bad or truncated
sentences are dropped; a GLL fix becomes one Sample at its UTC time of day on a fixed date, with the
speed of the latest valid VTG (knots to m/s). GLL fixes flagged invalid (status V) are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from custom_components.victron_venus.trips.detector import KNOT, Sample

PLAKA_DATE = date(2024, 6, 15)
"""The fixture has time of day only; any fixed date works (a summer Saturday in Finland)."""


@dataclass
class NmeaStats:
    """What the parser saw."""

    sentences: int = 0
    bad_checksum: int = 0
    fixes: int = 0


def checksum_ok(line: str) -> bool:
    """True when `$...*HH` carries the XOR of the characters between `$` and `*`."""
    if not line.startswith(("$", "!")) or "*" not in line:
        return False
    body, _, given = line[1:].rpartition("*")
    value = 0
    for char in body:
        value ^= ord(char)
    return given[:2].upper() == f"{value:02X}"


def _degrees(value: str, hemisphere: str, width: int) -> float | None:
    """ddmm.mmm / dddmm.mmm with N/S/E/W to signed degrees."""
    if len(value) < width + 2 or hemisphere not in "NSEW" or not hemisphere:
        return None
    try:
        deg = int(value[:width]) + float(value[width:]) / 60.0
    except ValueError:
        return None
    return -deg if hemisphere in "SW" else deg


def _time_of_day(value: str) -> time | None:
    try:
        hh, mm, ss = int(value[0:2]), int(value[2:4]), float(value[4:])
    except ValueError:
        return None
    whole = int(ss)
    return time(hh, mm, whole, round((ss - whole) * 1_000_000), tzinfo=UTC)


def parse_nmea(
    lines: Iterator[str] | list[str], day: date = PLAKA_DATE, stats: NmeaStats | None = None
) -> list[Sample]:
    """Samples from NMEA lines (GLL position + time, latest VTG speed)."""
    stats = stats if stats is not None else NmeaStats()
    samples: list[Sample] = []
    speed_ms: float | None = None
    course: float | None = None
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        stats.sentences += 1
        if not checksum_ok(line):
            stats.bad_checksum += 1
            continue
        fields = line[1:].rpartition("*")[0].split(",")
        kind = fields[0][2:]
        if kind == "VTG" and len(fields) >= 6:
            try:
                speed_ms = float(fields[5]) * KNOT if fields[5] else None
                course = float(fields[1]) if fields[1] else None
            except ValueError:
                speed_ms = course = None
        elif kind == "GLL" and len(fields) >= 6:
            if len(fields) >= 7 and fields[6] != "A":
                continue
            lat = _degrees(fields[1], fields[2], 2)
            lon = _degrees(fields[3], fields[4], 3)
            tod = _time_of_day(fields[5])
            if lat is None or lon is None or tod is None:
                continue
            stats.fixes += 1
            when = datetime.combine(day, tod)
            if samples and when < samples[-1].time - timedelta(hours=12):
                when += timedelta(days=1)  # past midnight
            samples.append(Sample(when, lat, lon, speed_ms, course=course))
    return samples


def load_nmea(path: Path, day: date = PLAKA_DATE, stats: NmeaStats | None = None) -> list[Sample]:
    """`parse_nmea` over a file."""
    with path.open(encoding="ascii", errors="replace") as handle:
        return parse_nmea(iter(handle), day, stats)

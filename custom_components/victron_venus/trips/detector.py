"""Automatic trip detection for a boat's logbook: timestamped samples in, trips out.

Pure and streaming: standard library only, no I/O, no Home Assistant. The same object runs live
(one `add()` per state change), over recorder history and in tests, and its whole state can be
saved with `snapshot()` and resumed with `TripDetector.restore()` after a restart.

Units: `Sample.speed` is speed over ground in m/s, `Sample.power` is W (positive = energy drawn;
feed propulsion power when the boat has it, otherwise battery discharge power), times are
timezone-aware datetimes. Trips report nautical miles, knots, Wh and hours, and keep SI
accumulators (metres, joules, seconds) for exact resumption.

How it decides (defaults in `DetectorConfig`, from ../shared/reference/logbook.md §3.3 and §8):

* Fixes are validated first, cheapest test first: null, out-of-range and (0, 0) positions, times
  that repeat or go backwards, and fixes implying more than 40 kn from the previous good fix
  (GPS jumps) are dropped. After 10 consecutive "jumps" the new position is taken as the truth
  (the previous fix was the outlier), without adding the jump to the distance.
* Samples are folded into 10 s buckets (the last fix, mean speed, mean power, engine state and the
  integrals of the bucket). Rules are evaluated once per bucket on a rolling window of buckets (a
  deque of at most ~180 entries, 30 min), so the per-sample work is a handful of float operations
  and memory does not grow with history length. Without SOG a bucket's speed is derived from its
  displacement over >= 30 s.
* At rest the boat has a rest point: the median of the stop window when the last trip ended, then
  an exponential mean (time constant 30 min) of the positions at rest, so an anchored boat swinging
  on its chain stays near its centre. A trip starts (back-dated to the start of the qualifying
  streak) when the boat is >= 150 m from the rest point, or when bucket speed >= 0.8 kn is held for
  120 s and the boat has moved >= 50 m since the streak began, or when the engine is on and the
  boat moves (>= 0.5 kn) for 60 s. Never while the anchor alarm is set.
* Under way, the boat stops (back-dated to the first slow bucket, which may be the one holding the
  position at the start of the window: with sparse fixes at rest, the first fix at rest) when every
  bucket position of the last 10 min (and the position held at the start of the window) lies within
  100 m of the window's median position and the median bucket speed is <= 0.3 kn; or when the
  engine goes off and the speed is <= 0.3 kn within 60 s (dated at engine off); or when the
  anchor alarm is set (dated at the alarm). One rule beyond the issue's list: every position of
  the last 30 min within 100 m, whatever the speed, also stops. Without it a boat sheering on its
  anchor at 0.5-1 kn (median SOG above 0.3 kn) would keep a trip open for ever; a boat really
  under way cannot stay inside a 100 m circle for 30 min unless it creeps at about 0.2 kn.
* A stop first pauses the trip (`StopStarted`). If the boat starts again within 20 min of arriving
  and within 300 m, the trip resumes (`StopEnded`) and the pause stays in `Trip.stops`; otherwise
  the trip ends (`TripEnded`) at the arrival time. A data gap of 60 min ends the trip at once at its
  last good point. Trips shorter than 0.1 nm or 3 min (of movement) are dropped: `TripStarted` is
  only emitted once a trip has passed both minimums, so a dropped candidate produces no events at
  all (`TripDiscarded` covers the rare announced trip that back-dating later brings under them).
  Movement runs from the trip's start to the end of its last leg above the stop speed (the next
  fix: values are held between samples), and the end applies the same rule, cut at the arrival,
  so every trip that ends was announced first, whatever the fix spacing.
* Live, call `tick(now)` now and then: it ends trips when data stops, and with `hold=True` repeats
  the last sample so a boat whose states no longer change still comes to rest on time.
* Distance is the sum of legs between fixes with jitter suppression: a fix counts once it is >= 10 m
  from the last counted one (VDR2's and Traccar's minimum-distance filter). That keeps GPS wander at
  rest out of the log, and at 1 Hz it also keeps white position noise from inflating the distance
  under way (1 m of noise on 1.5 m steps adds a third; on 10 m legs, 1 %). Legs use an
  equirectangular step (within 0.1 % of haversine at these lengths). `log_nm` is the integral of
  speed over ground. Speed, power and engine state are held between samples (zero-order hold, as
  Home Assistant state changes are), for at most `segment_gap_s`; a longer silence (up to the 60 min
  gap) starts a new track segment.
* Stops are excluded from the trip's integrals (distance, energy, engine time); they count in its
  duration.

The real 4-hour sailing track in ../shared/fixtures/gps/plaka.nmea gives ONE trip with a stop:
the boat comes to rest at 12:03:59 UTC (SOG below 0.3 kn) and leaves again at 12:22:24, a pause of
18.4 min within a few metres. That is below the 20 min / 300 m merge rule, which exists for exactly
this (locks, bridges, fuel docks, a short wait). So the trip runs from 09:55:59 to the end of the
data, still open, with one stop: 18.74 nm over ground, 18.80 nm by the SOG integral (the raw sum
of the 2 s legs is 18.96 nm, inflated about 1 % by the 0.001' quantisation of GLL positions).

Events carry the live `Trip` object: serialise it (`Trip.to_dict()`) if a copy is needed.
`TrackPointAdded` events stream the trip's track (one point per bucket, about every 10 s while under
way; points after the eventual `Trip.end` can appear, filter by time); the trip itself keeps only a
Douglas-Peucker simplified, size-bounded track.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
import math
from typing import Any, NamedTuple

KNOT = 1852.0 / 3600.0
"""One knot in m/s."""
NAUTICAL_MILE = 1852.0
"""One nautical mile in metres."""
EARTH_RADIUS_M = 6371008.8
"""Mean Earth radius (IUGG) used for every distance."""
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
"""Metres per degree of latitude (and of longitude at the equator)."""

_NO_DATA = -1.0e18  # "time of the previous sample" before any sample: every first dt is a gap
_SNAPSHOT_VERSION = 1


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a sphere of radius EARTH_RADIUS_M."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2.0) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2.0) ** 2
    )
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial true course in degrees [0, 360) from the first position to the second."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dt_req(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _wrap(dlon: float) -> float:
    """A longitude difference brought into [-180, 180]."""
    if dlon > 180.0:
        return dlon - 360.0
    if dlon < -180.0:
        return dlon + 360.0
    return dlon


def _finite(value: float | None) -> float | None:
    """The value if it is a finite number, else None."""
    return value if value is not None and math.isfinite(value) else None


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


# --------------------------------------------------------------------------------------------
# Inputs and configuration


@dataclass(slots=True)
class Sample:
    """One observation of the boat.

    `latitude`/`longitude` in degrees (None or (0, 0) = no fix; such samples are dropped),
    `speed` over ground in m/s, `power` in W (positive = drawn), `engine_on` from an RPM/state/
    motor-power entity, `anchor_alarm` True while the anchor alarm is set (None = unknown, keeps the
    last known value), `course` over ground in degrees (optional, for the track).
    """

    time: datetime
    latitude: float | None
    longitude: float | None
    speed: float | None = None
    power: float | None = None
    engine_on: bool | None = None
    anchor_alarm: bool | None = None
    course: float | None = None


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Every threshold of the detector. Speeds in knots, distances in metres, times in seconds."""

    # start (at rest -> under way)
    start_distance_m: float = 150.0
    start_speed_kn: float = 0.8
    start_hold_s: float = 120.0
    start_min_distance_m: float = 50.0
    engine_start_speed_kn: float = 0.5
    engine_start_hold_s: float = 60.0
    # stop (under way -> at rest)
    stop_window_s: float = 600.0
    stop_radius_m: float = 100.0
    stop_speed_kn: float = 0.3
    stop_confined_s: float = 1800.0
    engine_stop_speed_kn: float = 0.3
    engine_stop_window_s: float = 60.0
    gap_s: float = 3600.0
    # post-processing
    merge_gap_s: float = 1200.0
    merge_distance_m: float = 300.0
    min_trip_nm: float = 0.1
    min_trip_s: float = 180.0
    # fix validation and distance
    max_speed_kn: float = 40.0
    jitter_distance_m: float = 10.0
    reject_recovery: int = 10
    # bookkeeping
    moving_speed_kn: float = 0.5
    bucket_s: float = 10.0
    rest_tau_s: float = 1800.0
    segment_gap_s: float = 300.0
    motoring_share: float = 0.85
    # track
    track_tolerance_m: float = 10.0
    max_track_points: int = 2000
    # efficiency samples (steady state only)
    steady_window_s: float = 60.0
    steady_speed_std_kn: float = 0.2
    steady_power_rel_std: float = 0.10
    steady_min_power_w: float = 30.0
    efficiency_bin_kn: float = 0.5
    efficiency_bin_cap: int = 64

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"DetectorConfig.{f.name} must be a finite number >= 0")
        if self.bucket_s <= 0 or self.stop_window_s < self.bucket_s:
            raise ValueError("bucket_s must be > 0 and <= stop_window_s")
        if self.max_track_points < 4 or self.efficiency_bin_cap < 2:
            raise ValueError("max_track_points must be >= 4 and efficiency_bin_cap >= 2")
        if self.efficiency_bin_kn <= 0 or self.rest_tau_s <= 0:
            raise ValueError("efficiency_bin_kn and rest_tau_s must be > 0")

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict (JSON-safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        """Inverse of `to_dict`; unknown keys are ignored, missing ones take the defaults."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# --------------------------------------------------------------------------------------------
# Outputs


@dataclass(slots=True)
class TrackPoint:
    """A point of a trip's track: `speed` m/s, `course` degrees, `segment` counts data gaps."""

    time: datetime
    latitude: float
    longitude: float
    speed: float | None = None
    course: float | None = None
    segment: int = 0

    def to_list(self) -> list[Any]:
        """Compact JSON-safe form: [iso time, lat, lon, speed, course, segment]."""
        return [
            self.time.isoformat(),
            self.latitude,
            self.longitude,
            self.speed,
            self.course,
            self.segment,
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> TrackPoint:
        """Inverse of `to_list`."""
        return cls(_dt_req(data[0]), data[1], data[2], data[3], data[4], data[5])


@dataclass(slots=True)
class Stop:
    """A pause inside a trip: arrival `start`, departure `end` (None while stopped)."""

    start: datetime
    end: datetime | None
    latitude: float
    longitude: float
    anchored: bool = False

    @property
    def duration_s(self) -> float | None:
        """Seconds stopped, None while the stop is ongoing."""
        return None if self.end is None else (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "start": self.start.isoformat(),
            "end": _iso(self.end),
            "latitude": self.latitude,
            "longitude": self.longitude,
            "anchored": self.anchored,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stop:
        """Inverse of `to_dict`."""
        return cls(
            _dt_req(data["start"]),
            _dt(data["end"]),
            data["latitude"],
            data["longitude"],
            bool(data.get("anchored", False)),
        )


@dataclass(slots=True)
class EfficiencyBin:
    """Steady-state (speed kn, power W) pairs of one speed bin, thinned to a bounded size.

    Every `stride`-th sample is kept; when `samples` outgrows the cap, every other one is dropped
    and the stride doubles, so the bin stays a uniform subsample of everything seen.
    """

    stride: int = 1
    seen: int = 0
    samples: list[tuple[float, float]] = field(default_factory=list)

    def add(self, speed_kn: float, power_w: float, cap: int) -> None:
        """Offer one sample."""
        self.seen += 1
        if self.seen % self.stride:
            return
        self.samples.append((speed_kn, power_w))
        if len(self.samples) > cap:
            del self.samples[::2]
            self.stride *= 2


@dataclass(slots=True)
class Trip:
    """One trip. Open while `end` is None. SI accumulators, nautical properties."""

    id: str
    start: datetime
    start_latitude: float
    start_longitude: float
    last_time: datetime
    end: datetime | None = None
    end_latitude: float | None = None
    end_longitude: float | None = None
    distance_m: float = 0.0
    log_m: float = 0.0
    energy_j: float = 0.0
    power_s: float = 0.0
    engine_s: float = 0.0
    moving_s: float = 0.0
    max_speed: float = 0.0
    engine_seen: bool = False
    stops: list[Stop] = field(default_factory=list)
    track: list[TrackPoint] = field(default_factory=list)
    track_tolerance_m: float = 10.0
    segment: int = 0
    efficiency: dict[int, EfficiencyBin] = field(default_factory=dict)

    # -- derived figures -------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """True while the trip has no end."""
        return self.end is None

    @property
    def distance_nm(self) -> float:
        """Distance over ground (sum of jitter-filtered legs), nautical miles."""
        return self.distance_m / NAUTICAL_MILE

    @property
    def log_nm(self) -> float:
        """Integral of speed over ground, nautical miles."""
        return self.log_m / NAUTICAL_MILE

    @property
    def energy_wh(self) -> float | None:
        """Energy drawn while under way, Wh; None when no power was ever given."""
        return self.energy_j / 3600.0 if self.power_s > 0 else None

    @property
    def engine_hours(self) -> float:
        """Engine running time while under way, hours."""
        return self.engine_s / 3600.0

    @property
    def max_speed_kn(self) -> float:
        """Highest speed over ground of any sample, knots."""
        return self.max_speed / KNOT

    @property
    def duration_s(self) -> float:
        """Start to end (or to the last sample while open), stops included."""
        return ((self.end or self.last_time) - self.start).total_seconds()

    @property
    def stopped_s(self) -> float:
        """Time spent in the trip's stops."""
        return sum(s.duration_s or 0.0 for s in self.stops)

    @property
    def underway_s(self) -> float:
        """Duration minus stops."""
        return max(0.0, self.duration_s - self.stopped_s)

    @property
    def avg_speed_kn(self) -> float:
        """Distance over ground divided by the time under way (stops excluded), knots."""
        hours = self.underway_s / 3600.0
        return self.distance_nm / hours if hours > 0 else 0.0

    @property
    def wh_per_nm(self) -> float | None:
        """Energy per nautical mile over ground (numerically the mean W per knot)."""
        energy = self.energy_wh
        if energy is None or self.distance_m <= 0:
            return None
        return energy / self.distance_nm

    @property
    def mode(self) -> str | None:
        """'motoring' when the engine ran >= 85 % of the moving time (signalk-sailing-logbook's
        rule), 'sailing' when it never ran, otherwise 'mixed'; None without engine data."""
        if not self.engine_seen:
            return None
        if self.engine_s <= 0:
            return "sailing"
        base = self.moving_s if self.moving_s > 0 else self.underway_s
        return "motoring" if base > 0 and self.engine_s >= 0.85 * base else "mixed"

    @property
    def efficiency_samples(self) -> list[tuple[float, float]]:
        """Steady-state (speed kn, power W) pairs, binned by speed and bounded per bin."""
        out: list[tuple[float, float]] = []
        for key in sorted(self.efficiency):
            out.extend(self.efficiency[key].samples)
        return out

    # -- serialisation ---------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Small JSON-safe summary (no track): for events, attributes and the trips index."""
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "end": _iso(self.end),
            "start_latitude": self.start_latitude,
            "start_longitude": self.start_longitude,
            "end_latitude": self.end_latitude,
            "end_longitude": self.end_longitude,
            "distance_nm": round(self.distance_nm, 3),
            "log_nm": round(self.log_nm, 3),
            "duration_s": round(self.duration_s, 1),
            "underway_s": round(self.underway_s, 1),
            "moving_s": round(self.moving_s, 1),
            "engine_hours": round(self.engine_hours, 3),
            "energy_wh": None if self.energy_wh is None else round(self.energy_wh, 1),
            "wh_per_nm": None if self.wh_per_nm is None else round(self.wh_per_nm, 1),
            "max_speed_kn": round(self.max_speed_kn, 2),
            "avg_speed_kn": round(self.avg_speed_kn, 2),
            "mode": self.mode,
            "stops": len(self.stops),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe (tracks as compact lists)."""
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "start_latitude": self.start_latitude,
            "start_longitude": self.start_longitude,
            "last_time": self.last_time.isoformat(),
            "end": _iso(self.end),
            "end_latitude": self.end_latitude,
            "end_longitude": self.end_longitude,
            "distance_m": self.distance_m,
            "log_m": self.log_m,
            "energy_j": self.energy_j,
            "power_s": self.power_s,
            "engine_s": self.engine_s,
            "moving_s": self.moving_s,
            "max_speed": self.max_speed,
            "engine_seen": self.engine_seen,
            "stops": [s.to_dict() for s in self.stops],
            "track": [p.to_list() for p in self.track],
            "track_tolerance_m": self.track_tolerance_m,
            "segment": self.segment,
            "efficiency": {
                str(k): [b.stride, b.seen, [list(s) for s in b.samples]]
                for k, b in self.efficiency.items()
            },
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trip:
        """Inverse of `to_dict` (the derived `summary` is ignored)."""
        return cls(
            id=data["id"],
            start=_dt_req(data["start"]),
            start_latitude=data["start_latitude"],
            start_longitude=data["start_longitude"],
            last_time=_dt_req(data["last_time"]),
            end=_dt(data.get("end")),
            end_latitude=data.get("end_latitude"),
            end_longitude=data.get("end_longitude"),
            distance_m=data.get("distance_m", 0.0),
            log_m=data.get("log_m", 0.0),
            energy_j=data.get("energy_j", 0.0),
            power_s=data.get("power_s", 0.0),
            engine_s=data.get("engine_s", 0.0),
            moving_s=data.get("moving_s", 0.0),
            max_speed=data.get("max_speed", 0.0),
            engine_seen=bool(data.get("engine_seen", False)),
            stops=[Stop.from_dict(s) for s in data.get("stops", [])],
            track=[TrackPoint.from_list(p) for p in data.get("track", [])],
            track_tolerance_m=data.get("track_tolerance_m", 10.0),
            segment=data.get("segment", 0),
            efficiency={
                int(k): EfficiencyBin(v[0], v[1], [(s[0], s[1]) for s in v[2]])
                for k, v in data.get("efficiency", {}).items()
            },
        )


# --------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True, slots=True)
class TripStarted:
    """A trip passed the minimum distance and duration (its `start` is back-dated)."""

    trip: Trip


@dataclass(frozen=True, slots=True)
class TripEnded:
    """A trip is over; `trip.end` is set. Final: the trip will not change any more."""

    trip: Trip


@dataclass(frozen=True, slots=True)
class TripDiscarded:
    """An announced trip ended below the minimums after its stop was back-dated: delete it."""

    trip: Trip


@dataclass(frozen=True, slots=True)
class StopStarted:
    """The boat came to rest during a trip (the trip ends if it does not move on in time)."""

    trip: Trip
    stop: Stop


@dataclass(frozen=True, slots=True)
class StopEnded:
    """The boat moved on after a stop: the trip continues, `stop` is now in `trip.stops`."""

    trip: Trip
    stop: Stop


@dataclass(frozen=True, slots=True)
class TrackPointAdded:
    """A new track point of an announced trip (about one per `bucket_s` while under way)."""

    trip: Trip
    point: TrackPoint


type Event = TripStarted | TripEnded | TripDiscarded | StopStarted | StopEnded | TrackPointAdded


class Settled(NamedTuple):
    """The part of the announced open trip that no later stop can take back (`TripDetector.
    settled()`): what lifetime totals may count before the trip ends. SI units: metres, seconds,
    joules; `power_s` is the time with power known (energy is unknown while it is 0)."""

    trip_id: str
    distance_m: float
    underway_s: float
    engine_s: float
    energy_j: float
    power_s: float


# --------------------------------------------------------------------------------------------
# Track simplification


def simplify_track(points: list[TrackPoint], tolerance_m: float) -> list[TrackPoint]:
    """Douglas-Peucker per segment (point-to-segment distance, local equirectangular metres).

    The first and last point of every segment are kept.
    """
    if len(points) <= 2 or tolerance_m <= 0:
        return list(points)
    out: list[TrackPoint] = []
    start = 0
    for i in range(1, len(points) + 1):
        if i == len(points) or points[i].segment != points[start].segment:
            out.extend(_rdp(points[start:i], tolerance_m))
            start = i
    return out


def _rdp(points: list[TrackPoint], tolerance_m: float) -> list[TrackPoint]:
    n = len(points)
    if n <= 2:
        return list(points)
    lat0 = points[0].latitude
    kx = M_PER_DEG * math.cos(math.radians(lat0))
    xs = [(p.longitude - points[0].longitude) * kx for p in points]
    ys = [(p.latitude - lat0) * M_PER_DEG for p in points]
    keep = [False] * n
    keep[0] = keep[-1] = True
    tol2 = tolerance_m * tolerance_m
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        ax, ay, bx, by = xs[a], ys[a], xs[b], ys[b]
        dx, dy = bx - ax, by - ay
        seg2 = dx * dx + dy * dy
        worst, worst_i = -1.0, -1
        for i in range(a + 1, b):
            px, py = xs[i] - ax, ys[i] - ay
            if seg2 > 0:
                u = (px * dx + py * dy) / seg2
                if u > 1.0:
                    px, py = xs[i] - bx, ys[i] - by
                elif u > 0.0:
                    px, py = px - u * dx, py - u * dy
            d2 = px * px + py * py
            if d2 > worst:
                worst, worst_i = d2, i
        if worst > tol2:
            keep[worst_i] = True
            stack.append((a, worst_i))
            stack.append((worst_i, b))
    return [p for p, k in zip(points, keep, strict=True) if k]


# --------------------------------------------------------------------------------------------
# The detector


class _Bucket(NamedTuple):
    """Everything the rules need of ~bucket_s of samples. Integrals cover the legs that start in
    the bucket; position and `last_speed` are those of its last fix."""

    t0: float
    t0_dt: datetime
    lat0: float  # first fix
    lon0: float
    tl: float
    tl_dt: datetime
    lat: float
    lon: float
    speed: float | None  # mean SOG m/s (or derived from displacement when no SOG)
    dist: float  # m
    log: float  # m
    energy: float  # J
    power_s: float
    engine_s: float
    moving_s: float
    max_speed: float
    power: float | None  # mean W
    engine: bool | None  # True: every known sample on; False: any off; None: unknown
    last_speed: float | None
    course: float | None
    gap: bool  # a data gap (> segment_gap_s) precedes the bucket

    def to_list(self) -> list[Any]:
        out: list[Any] = list(self)
        out[1] = self.t0_dt.isoformat()
        out[5] = self.tl_dt.isoformat()
        return out

    @classmethod
    def from_list(cls, data: list[Any]) -> _Bucket:
        values = list(data)
        values[1] = _dt_req(values[1])
        values[5] = _dt_req(values[5])
        return cls(*values)


_REST, _MOVING, _PAUSED = 0, 1, 2
_STATE_NAMES = {_REST: "at_rest", _MOVING: "underway", _PAUSED: "stopped"}

# Scalar state saved by snapshot() as-is (datetimes are listed in _DT_STATE).
_SCALAR_STATE = (
    "_has_data",
    "_t",
    "_lat",
    "_lon",
    "_sp",
    "_pw",
    "_eng",
    "_eng_known",
    "_crs",
    "_coslat",
    "_alat",
    "_alon",
    "_rejects",
    "_n_accepted",
    "_n_bad_fix",
    "_n_bad_time",
    "_n_jump",
    "_b_t0",
    "_b_lat0",
    "_b_lon0",
    "_b_dist",
    "_b_log",
    "_b_energy",
    "_b_pdt",
    "_b_engine",
    "_b_moving",
    "_b_smax",
    "_b_ssum",
    "_b_sn",
    "_b_psum",
    "_b_pn",
    "_b_eon",
    "_b_eoff",
    "_b_gap",
    "_state",
    "_alarm",
    "_alarm_t",
    "_rlat",
    "_rlon",
    "_rn",
    "_floor_t",
    "_leg_t",
    "_trip_t0",
    "_announced",
    "_arr_t",
    "_eoff_t",
    "_last_move_t",
)
_DT_STATE = ("_tdt", "_b_t0dt", "_alarm_dt", "_arr_dt", "_eoff_dt")


class TripDetector:
    """Streaming trip detector. See the module docstring for the rules.

    `add(sample)` returns the events it caused. `finish()` ends a replay: it closes a paused trip
    and returns the trips ended since the last `finish()` (when `collect` is True) plus the open
    trip, if any (its `end` is None). With `collect=False` (live use) ended trips are only
    delivered through `TripEnded` events, and memory stays constant whatever the history length.
    """

    __slots__ = (
        "_alarm",
        "_alarm_dt",
        "_alarm_t",
        "_alat",
        "_alon",
        "_alpha",
        "_announced",
        "_arr_dt",
        "_arr_t",
        "_b_dist",
        "_b_energy",
        "_b_engine",
        "_b_eoff",
        "_b_eon",
        "_b_gap",
        "_b_lat0",
        "_b_log",
        "_b_lon0",
        "_b_moving",
        "_b_pdt",
        "_b_pn",
        "_b_psum",
        "_b_smax",
        "_b_sn",
        "_b_ssum",
        "_b_t0",
        "_b_t0dt",
        "_bucket_s",
        "_collect",
        "_collected",
        "_coslat",
        "_crs",
        "_eng",
        "_eng_known",
        "_eoff_dt",
        "_eoff_t",
        "_floor_t",
        "_gap_s",
        "_has_data",
        "_jit2",
        "_keep_s",
        "_last_move_t",
        "_lat",
        "_leg_t",
        "_lon",
        "_mov_speed",
        "_n_accepted",
        "_n_bad_fix",
        "_n_bad_time",
        "_n_jump",
        "_pw",
        "_rejects",
        "_rlat",
        "_rlon",
        "_rn",
        "_seg_gap",
        "_sp",
        "_state",
        "_stop",
        "_t",
        "_tdt",
        "_trip",
        "_trip_t0",
        "_v_engine",
        "_v_fast",
        "_v_start",
        "_v_stop",
        "_vmax",
        "_vmax2",
        "_win",
        "config",
    )

    def __init__(self, config: DetectorConfig | None = None, *, collect: bool = True) -> None:
        self.config = config or DetectorConfig()
        self._collect = collect
        c = self.config
        self._bucket_s = c.bucket_s
        self._gap_s = c.gap_s
        self._seg_gap = c.segment_gap_s
        self._vmax = c.max_speed_kn * KNOT
        self._vmax2 = (self._vmax / M_PER_DEG) ** 2
        self._jit2 = (c.jitter_distance_m / M_PER_DEG) ** 2
        self._mov_speed = c.moving_speed_kn * KNOT
        self._v_start = c.start_speed_kn * KNOT
        self._v_stop = c.stop_speed_kn * KNOT
        self._v_fast = c.engine_stop_speed_kn * KNOT
        self._v_engine = c.engine_start_speed_kn * KNOT
        self._alpha = min(1.0, c.bucket_s / c.rest_tau_s)
        self._keep_s = max(c.stop_window_s, c.stop_confined_s)
        # previous accepted fix (zero-order hold values for the next leg)
        self._has_data = False
        self._t = _NO_DATA
        self._tdt: datetime | None = None
        self._lat = 0.0
        self._lon = 0.0
        self._sp: float | None = None
        self._pw: float | None = None
        self._eng: bool | None = None
        self._eng_known: bool | None = None
        self._crs: float | None = None
        self._coslat = 1.0
        self._alat = 0.0  # last fix counted in the distance
        self._alon = 0.0
        self._rejects = 0
        self._n_accepted = 0
        self._n_bad_fix = 0
        self._n_bad_time = 0
        self._n_jump = 0
        # open bucket
        self._b_t0 = _NO_DATA
        self._b_t0dt: datetime | None = None
        self._b_lat0 = 0.0
        self._b_lon0 = 0.0
        self._b_dist = 0.0  # degrees (scaled at close)
        self._b_log = 0.0
        self._b_energy = 0.0
        self._b_pdt = 0.0
        self._b_engine = 0.0
        self._b_moving = 0.0
        self._b_smax = 0.0
        self._b_ssum = 0.0
        self._b_sn = 0
        self._b_psum = 0.0
        self._b_pn = 0
        self._b_eon = 0
        self._b_eoff = 0
        self._b_gap = False
        self._win: deque[_Bucket] = deque()
        # state machine
        self._state = _REST
        self._alarm = False
        self._alarm_t = 0.0
        self._alarm_dt: datetime | None = None
        self._rlat = 0.0  # rest point
        self._rlon = 0.0
        self._rn = 0
        self._floor_t = _NO_DATA  # no back-dating before this time
        self._leg_t = _NO_DATA  # first bucket of the current moving leg
        self._trip: Trip | None = None
        self._trip_t0 = 0.0
        self._last_move_t = 0.0
        self._announced = False
        self._arr_t = 0.0  # arrival time of the pending stop
        self._arr_dt: datetime | None = None
        self._stop: Stop | None = None
        self._eoff_t: float | None = None  # engine switched off at
        self._eoff_dt: datetime | None = None
        self._collected: list[Trip] = []

    # -- public ----------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """'at_rest', 'underway' (a trip or candidate is open) or 'stopped' (trip paused)."""
        return _STATE_NAMES[self._state]

    @property
    def navigation_state(self) -> str | None:
        """Signal K's vocabulary: 'moored' or 'anchored' (anchor alarm set) at rest or stopped,
        'motoring' (engine on) or 'sailing' under way; None before any sample."""
        if not self._has_data:
            return None
        if self._state == _MOVING:
            return "motoring" if self._eng_known else "sailing"
        return "anchored" if self._alarm else "moored"

    @property
    def trip(self) -> Trip | None:
        """The announced trip that is open or paused, else None."""
        return self._trip if self._announced else None

    @property
    def rest_position(self) -> tuple[float, float] | None:
        """The rest point (lat, lon) while at rest or stopped."""
        if not self._has_data or self._state == _MOVING:
            return None
        return (self._rlat, self._rlon)

    @property
    def stats(self) -> dict[str, int]:
        """Counts of accepted and rejected samples."""
        return {
            "accepted": self._n_accepted,
            "bad_fix": self._n_bad_fix,
            "bad_time": self._n_bad_time,
            "jump": self._n_jump,
        }

    def settled(self) -> Settled | None:
        """The announced open trip's figures that no later stop can take back; None without one.

        A stop takes back what the trip counted since the arrival, and the arrival is never before
        the oldest bucket of the rolling window (about 30 min). Under way, the settled figures are
        therefore the trip's minus those of its buckets still in the window, and its time under
        way ends where they begin; stopped (paused), nothing more can be taken back. They only
        grow while the trip lasts, the trip's final figures are at least as large, and they are a
        function of the detector's state alone, so a detector restored from `snapshot()` gives
        the same. (A trip `TripDiscarded` later is the exception: below the minimums.)
        """
        trip = self._trip
        if trip is None or not self._announced:
            return None
        distance = trip.distance_m
        engine = trip.engine_s
        energy = trip.energy_j
        power_s = trip.power_s
        until = trip.last_time
        if self._state == _MOVING:
            leg = self._leg_t
            first: _Bucket | None = None
            for b in self._win:
                if b.t0 >= leg:
                    if first is None:
                        first = b
                    distance -= b.dist
                    engine -= b.engine_s
                    energy -= b.energy
                    power_s -= b.power_s
            if first is not None and first.t0_dt < until:
                until = first.t0_dt
        underway = (until - trip.start).total_seconds() - trip.stopped_s
        return Settled(
            trip.id,
            max(0.0, distance),
            max(0.0, underway),
            max(0.0, engine),
            energy,
            max(0.0, power_s),
        )

    def feed(self, samples: Iterable[Sample]) -> list[Event]:
        """`add()` every sample; all events in order."""
        events: list[Event] = []
        add = self.add
        for sample in samples:
            out = add(sample)
            if out:
                events.extend(out)
        return events

    def add(self, s: Sample) -> list[Event]:
        """Take one sample; return the events it caused (usually none)."""
        lat = s.latitude
        lon = s.longitude
        if (
            lat is None
            or lon is None
            or not -90.0 <= lat <= 90.0
            or not -180.0 <= lon <= 180.0
            or (lat == 0.0 and lon == 0.0)
        ):
            self._n_bad_fix += 1
            return []
        tdt = s.time
        t = tdt.timestamp()
        dt = t - self._t
        if dt <= 0.0:
            self._n_bad_time += 1
            return []
        if dt > self._gap_s:
            return self._restart(s, t, lat, lon)
        cos = self._coslat
        dy = lat - self._lat
        dx = (lon - self._lon) * cos
        if dy * dy + dx * dx > self._vmax2 * dt * dt:
            if not self._jump(lat, lon, dt, t, tdt):
                return []
        elif self._rejects:
            self._rejects = 0
        self._n_accepted += 1
        sp = s.speed
        if sp is not None and not 0.0 <= sp <= self._vmax:
            sp = None
        # distance with jitter suppression
        dy = lat - self._alat
        dx = (lon - self._alon) * cos
        d2 = dy * dy + dx * dx
        if d2 >= self._jit2:
            self._b_dist += math.sqrt(d2)
            self._alat = lat
            self._alon = lon
        # integrals of the leg, values held from the previous sample
        if dt > self._seg_gap:
            dt = self._seg_gap
            gap = True
        else:
            gap = False
        psp = self._sp
        if psp is not None:
            self._b_log += psp * dt
            if psp >= self._mov_speed:
                self._b_moving += dt
        ppw = self._pw
        if ppw is not None:
            self._b_energy += ppw * dt
            self._b_pdt += dt
        if self._eng:
            self._b_engine += dt
        events = self._close(t, tdt, lat, lon) if t - self._b_t0 >= self._bucket_s else None
        if gap:
            self._b_gap = True
        # the sample's own values go to the (possibly new) bucket
        if sp is not None:
            self._b_ssum += sp
            self._b_sn += 1
            if sp > self._b_smax:  # noqa: PLR1730 - an if is faster than max() here
                self._b_smax = sp
        pw = s.power
        if pw is not None:
            if -1.0e7 < pw < 1.0e7:
                self._b_psum += pw
                self._b_pn += 1
            else:
                pw = None
        eng = s.engine_on
        if eng is not None:
            if eng:
                self._b_eon += 1
                if self._eng_known is not True:
                    self._eng_known = True
                    self._eoff_t = None
            else:
                self._b_eoff += 1
                if self._eng_known is not False:
                    if self._eng_known:
                        self._eoff_t = t
                        self._eoff_dt = tdt
                    self._eng_known = False
        alarm = s.anchor_alarm
        if alarm is not None and alarm != self._alarm:
            self._alarm = bool(alarm)
            if alarm:
                self._alarm_t = t
                self._alarm_dt = tdt
        self._t = t
        self._tdt = tdt
        self._lat = lat
        self._lon = lon
        self._sp = sp
        self._pw = pw
        self._eng = eng
        self._crs = s.course
        return events if events is not None else []

    def tick(self, now: datetime, *, hold: bool = False) -> list[Event]:
        """Let time pass without a new sample (live use, e.g. once a minute).

        Ends a trip after a data gap of `gap_s` and a paused trip once its merge window is over.
        With `hold=True` the caller states that the data is still there but nothing changed
        (Home Assistant records changes only): the last sample is repeated at `now`, so the rules
        that need time to pass (the stop window, the merge window) run on a boat that is still.
        """
        if not self._has_data:
            return []
        t = now.timestamp()
        events: list[Event] = []
        if t - self._t > self._gap_s:
            if self._state != _REST:
                self._close_final(events)
                self._end_after_gap(events)
        elif hold and t > self._t and self._tdt is not None:
            lon = (self._lon + 180.0) % 360.0 - 180.0
            held = Sample(now, self._lat, lon, self._sp, self._pw, self._eng, None, self._crs)
            events.extend(self.add(held))
        elif self._state == _PAUSED:
            self._maybe_expire(t, events)
        return events

    def finish(self) -> list[Trip]:
        """End of the data: close the open bucket and a paused trip; return the trips ended since
        the last finish() (when collecting) and the open trip, if it qualifies."""
        events: list[Event] = []
        if self._has_data:
            self._close_final(events)
        if self._state == _PAUSED:
            self._finalize_pause(events)
        if self._collect:
            out = self._collected
            self._collected = []
        else:
            out = [e.trip for e in events if isinstance(e, TripEnded)]
        trip = self._trip
        if (
            self._state == _MOVING
            and trip is not None
            and (self._announced or self._qualifies(trip, self._last_move_t))
        ):
            out.append(trip)
        return out

    # -- by hand -----------------------------------------------------------------------------
    def start_trip(self) -> list[Event]:
        """Start a trip by hand at the last sample; the events it caused.

        At rest: a new trip begins with the newest bucket and is announced at once
        (`TripStarted`) without waiting for the minimum distance and duration. Stopped (a paused
        trip): the trip resumes when the boat is still within the merge window and radius of its
        stop (`StopEnded`), otherwise the paused trip ends and a new one begins. Under way: the
        open trip is announced if it was not yet. The rules then run as usual: a boat that stays
        still pauses the trip after the stop window, and a trip that ends below the minimums is
        discarded (`TripDiscarded`). No-op (returns []) before the first sample.
        """
        if not self._has_data:
            return []
        events: list[Event] = []
        if self._state != _MOVING:
            self._close_final(events)  # the open bucket joins the window (its rules run)
        if self._state != _MOVING and self._win:
            self._depart(len(self._win) - 1, events)
        trip = self._trip
        if self._state == _MOVING and trip is not None and not self._announced:
            self._announced = True
            events.append(TripStarted(trip))
            events.extend(TrackPointAdded(trip, p) for p in trip.track)
        return events

    def end_trip(self) -> list[Event]:
        """End the open or paused trip by hand; the events it caused.

        Under way the trip ends at its last sample; stopped, at the arrival of its stop. It is kept
        (`TripEnded`) when it passes the minimum distance and duration, else dropped
        (`TripDiscarded` when it had been announced). The boat is then at rest where it is: the
        start rules apply from this position, so a boat that keeps moving starts a new trip once
        it has gone start_distance_m. No-op (returns []) at rest or before the first sample.
        """
        if not self._has_data or self._state == _REST:
            return []
        events: list[Event] = []
        self._close_final(events)
        if self._state != _REST:
            self._end_after_gap(events)
        return events

    # -- persistence -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The complete state as a JSON-safe dict (for Home Assistant's Store)."""
        state: dict[str, Any] = {name: getattr(self, name) for name in _SCALAR_STATE}
        state["_crs"] = _finite(self._crs)
        for name in _DT_STATE:
            state[name] = _iso(getattr(self, name))
        return {
            "version": _SNAPSHOT_VERSION,
            "config": self.config.to_dict(),
            "collect": self._collect,
            "state": state,
            "window": [b.to_list() for b in self._win],
            "trip": None if self._trip is None else self._trip.to_dict(),
            "stop": None if self._stop is None else self._stop.to_dict(),
            "collected": [t.to_dict() for t in self._collected],
        }

    @classmethod
    def restore(cls, data: dict[str, Any], config: DetectorConfig | None = None) -> TripDetector:
        """Rebuild a detector from `snapshot()`; `config` overrides the saved one."""
        if data.get("version") != _SNAPSHOT_VERSION:
            raise ValueError(f"unsupported detector snapshot version {data.get('version')!r}")
        det = cls(
            config or DetectorConfig.from_dict(data["config"]),
            collect=bool(data.get("collect", True)),
        )
        state = data["state"]
        for name in _SCALAR_STATE:
            setattr(det, name, state[name])
        for name in _DT_STATE:
            setattr(det, name, _dt(state[name]))
        det._win = deque(_Bucket.from_list(b) for b in data["window"])
        det._trip = None if data["trip"] is None else Trip.from_dict(data["trip"])
        det._stop = None if data["stop"] is None else Stop.from_dict(data["stop"])
        det._collected = [Trip.from_dict(t) for t in data.get("collected", [])]
        return det

    # -- sample path helpers -----------------------------------------------------------------
    def _jump(self, lat: float, lon: float, dt: float, t: float, tdt: datetime) -> bool:
        """A fix too far from the previous one. True when it is accepted after all."""
        dlon = lon - self._lon
        if abs(dlon) > 180.0:  # across the antimeridian: compare in one frame
            dx = (dlon - math.copysign(360.0, dlon)) * self._coslat
            dy = lat - self._lat
            if dy * dy + dx * dx <= self._vmax2 * dt * dt:
                shift = math.copysign(360.0, lon)  # move the remembered fixes to lon's side
                self._lon += shift
                if abs(self._alon - lon) > 180.0:
                    self._alon += shift
                return True
        self._rejects += 1
        self._n_jump += 1
        if self._rejects < self.config.reject_recovery:
            return False
        # the previous fix was the outlier: take the new position, count no distance for it
        self._rejects = 0
        self._lat = lat
        self._lon = lon
        self._alat = lat
        self._alon = lon
        if self._state != _MOVING:  # and forget where we thought we were resting
            self._win.clear()
            self._rlat, self._rlon, self._rn = lat, lon, 1
            self._floor_t = t
            self._open_bucket(t, tdt, lat, lon)
        return True

    def _restart(self, s: Sample, t: float, lat: float, lon: float) -> list[Event]:
        """First sample, or the first one after a data gap longer than gap_s."""
        events: list[Event] = []
        if self._has_data:
            self._close_final(events)
            self._end_after_gap(events)
        self._has_data = True
        self._win.clear()
        self._rejects = 0
        self._n_accepted += 1
        sp = s.speed
        if sp is not None and not 0.0 <= sp <= self._vmax:
            sp = None
        pw = s.power
        if pw is not None and not -1.0e7 < pw < 1.0e7:
            pw = None
        self._t = t
        self._tdt = s.time
        self._lat = self._alat = self._rlat = lat
        self._lon = self._alon = self._rlon = lon
        self._coslat = math.cos(math.radians(lat))
        self._rn = 1
        self._floor_t = t
        self._state = _REST
        self._sp = sp
        self._pw = pw
        self._eng = s.engine_on
        self._crs = s.course
        if s.engine_on is not None:
            self._eng_known = bool(s.engine_on)
        self._eoff_t = None
        if s.anchor_alarm is not None:
            self._alarm = bool(s.anchor_alarm)
            if self._alarm:
                self._alarm_t = t
                self._alarm_dt = s.time
        self._open_bucket(t, s.time, lat, lon)
        if sp is not None:
            self._b_ssum = sp
            self._b_sn = 1
            self._b_smax = sp
        if pw is not None:
            self._b_psum = pw
            self._b_pn = 1
        if s.engine_on is not None:
            if s.engine_on:
                self._b_eon = 1
            else:
                self._b_eoff = 1
        return events

    def _open_bucket(self, t: float, tdt: datetime, lat: float, lon: float) -> None:
        self._b_t0 = t
        self._b_t0dt = tdt
        self._b_lat0 = lat
        self._b_lon0 = lon
        self._b_dist = 0.0
        self._b_log = 0.0
        self._b_energy = 0.0
        self._b_pdt = 0.0
        self._b_engine = 0.0
        self._b_moving = 0.0
        self._b_smax = 0.0
        self._b_ssum = 0.0
        self._b_sn = 0
        self._b_psum = 0.0
        self._b_pn = 0
        self._b_eon = 0
        self._b_eoff = 0
        self._b_gap = False

    def _close_final(self, events: list[Event]) -> None:
        """Close the open bucket when no sample follows (finish, gap, tick)."""
        if self._b_t0dt is None or self._b_t0 > self._t:
            return
        out = self._close(self._t + 1.0e-6, self._tdt or self._b_t0dt, self._lat, self._lon)
        events.extend(out)
        # an empty bucket starting right after the last sample; the next sample opens it properly
        self._b_t0 = self._t + 1.0e-6
        self._b_t0dt = self._tdt

    # -- bucket level ------------------------------------------------------------------------
    def _close(
        self, t_next: float, tdt_next: datetime, lat_next: float, lon_next: float
    ) -> list[Event]:
        """Close the open bucket (the previous sample is its last fix), open the next one at
        t_next, and run the rules."""
        sn = self._b_sn
        pn = self._b_pn
        eon = self._b_eon
        eoff = self._b_eoff
        lat = self._lat
        lon = self._lon
        speed = self._b_ssum / sn if sn else None
        t0 = self._b_t0
        t0_dt = self._b_t0dt
        assert t0_dt is not None and self._tdt is not None
        win = self._win
        if speed is None and win:
            speed = self._derived_speed(lat, lon)
        b = _Bucket(
            t0,
            t0_dt,
            self._b_lat0,
            self._b_lon0,
            self._t,
            self._tdt,
            lat,
            lon,
            speed,
            self._b_dist * M_PER_DEG,
            self._b_log,
            self._b_energy,
            self._b_pdt,
            self._b_engine,
            self._b_moving,
            self._b_smax,
            self._b_psum / pn if pn else None,
            (eoff == 0) if (eon or eoff) else None,
            self._sp,
            _finite(self._crs),
            self._b_gap,
        )
        self._open_bucket(t_next, tdt_next, lat_next, lon_next)
        self._coslat = math.cos(math.radians(lat))
        win.append(b)
        limit = b.tl - self._keep_s
        while len(win) > 2 and win[1].t0 <= limit:
            win.popleft()
        events: list[Event] = []
        if self._state == _MOVING:
            self._moving_bucket(b, events)
        else:
            self._rest_bucket(b, events)
        return events

    def _derived_speed(self, lat: float, lon: float) -> float | None:
        """Speed from displacement over >= 30 s of earlier buckets (no SOG in this bucket)."""
        t = self._t
        for old in reversed(self._win):
            if t - old.tl >= 30.0 or old is self._win[0]:
                span = t - old.tl
                if span <= 0:
                    return None
                dy = lat - old.lat
                dx = _wrap(lon - old.lon) * self._coslat
                return math.sqrt(dy * dy + dx * dx) * M_PER_DEG / span
        return None

    def _dist_m(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        dy = lat2 - lat1
        dx = _wrap(lon2 - lon1) * self._coslat
        d = math.sqrt(dy * dy + dx * dx) * M_PER_DEG
        return d if d < 5000.0 else haversine_m(lat1, lon1, lat2, lon2)

    def _run_start(self, moving: bool, threshold: float, engine: bool = False) -> int:
        """Index in the window of the first bucket of the trailing run whose speed is above
        `threshold` (and engine on), not before the back-dating floor. -1 if the newest bucket
        is not in such a run."""
        win = self._win
        floor = self._floor_t
        k = -1
        for i in range(len(win) - 1, -1, -1):
            b = win[i]
            if b.t0 < floor:
                break
            spd = b.speed
            ok = spd is not None and (spd > threshold if moving else spd >= threshold)
            if engine:
                ok = ok and b.engine is True
            if not ok:
                break
            k = i
        return k

    def _rest_bucket(self, b: _Bucket, events: list[Event]) -> None:
        """At rest or paused: the start rules, then the rest point and the pause expiry."""
        if not self._alarm:
            start = -1
            win = self._win
            n = len(win)
            dy = b.lat - self._rlat
            dx = _wrap(b.lon - self._rlon) * self._coslat
            r = self.config.start_distance_m / M_PER_DEG
            if dy * dy + dx * dx >= r * r:
                start = self._run_start(True, self._v_stop)
                if start < 0:
                    start = n - 1
            spd = b.speed
            if start < 0 and spd is not None and spd >= self._v_start:
                k = self._run_start(False, self._v_start)
                if k >= 0 and b.tl - win[k].t0 >= self.config.start_hold_s:
                    p = win[k - 1] if k > 0 else win[k]
                    if self._dist_m(p.lat, p.lon, b.lat, b.lon) >= self.config.start_min_distance_m:
                        start = k
            if start < 0 and b.engine and spd is not None and spd >= self._v_engine:
                k = self._run_start(False, self._v_engine, engine=True)
                if k >= 0 and b.tl - win[k].t0 >= self.config.engine_start_hold_s:
                    start = k
            if start >= 0:
                self._depart(start, events)
                return
        if self._alarm and self._stop is not None:
            self._stop.anchored = True
        n = self._rn + 1
        self._rn = n
        w = max(self._alpha, 1.0 / n)
        self._rlat += w * (b.lat - self._rlat)
        self._rlon += w * _wrap(b.lon - self._rlon)
        if self._state == _PAUSED:
            self._maybe_expire(b.tl, events)

    def _depart(self, k: int, events: list[Event]) -> None:
        """A start rule fired; the trip (or the resumed leg) begins with window bucket k."""
        win = self._win
        first = win[k]
        pos_lat, pos_lon = (win[k - 1].lat, win[k - 1].lon) if k > 0 else (first.lat0, first.lon0)
        if self._state == _PAUSED:
            trip = self._trip
            stop = self._stop
            assert trip is not None and stop is not None
            if (
                first.t0 - self._arr_t < self.config.merge_gap_s
                and self._dist_m(stop.latitude, stop.longitude, pos_lat, pos_lon)
                < self.config.merge_distance_m
            ):
                stop.end = first.t0_dt
                trip.stops.append(stop)
                self._stop = None
                self._state = _MOVING
                self._leg_t = first.t0
                self._eoff_t = None
                if self._announced:
                    events.append(StopEnded(trip, stop))
                self._accumulate_from(k, trip, events)
                self._check_announce(events)
                return
            self._finalize_pause(events)
        trip = Trip(
            id=first.t0_dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
            start=first.t0_dt,
            start_latitude=pos_lat,
            start_longitude=pos_lon,
            last_time=first.t0_dt,
            track_tolerance_m=self.config.track_tolerance_m,
            track=[TrackPoint(first.t0_dt, pos_lat, pos_lon, None, None, 0)],
        )
        self._trip = trip
        self._trip_t0 = first.t0
        self._last_move_t = first.t0
        self._announced = False
        self._state = _MOVING
        self._leg_t = first.t0
        self._eoff_t = None
        self._accumulate_from(k, trip, events)
        self._check_announce(events)

    def _accumulate_from(self, k: int, trip: Trip, events: list[Event]) -> None:
        """Fold window buckets k.. into the trip (a departure back-dated to bucket k)."""
        win = self._win
        last = len(win) - 1
        for i in range(k, last + 1):
            # a bucket's legs run to the next bucket's start (the open bucket's for the newest)
            self._accumulate(trip, win[i], win[i + 1].t0 if i < last else self._b_t0, events)

    def _accumulate(self, trip: Trip, b: _Bucket, t_next: float, events: list[Event]) -> None:
        """Fold a bucket of the moving leg into the trip: integrals, track, efficiency.

        `t_next` is where the bucket's legs end (the start of the next bucket): a moving bucket
        moves the trip's last movement there, or `segment_gap_s` past its last fix when the next
        fix came after a gap (its integrals count no more either)."""
        trip.distance_m += b.dist
        trip.log_m += b.log
        trip.energy_j += b.energy
        trip.power_s += b.power_s
        trip.engine_s += b.engine_s
        trip.moving_s += b.moving_s
        trip.max_speed = max(trip.max_speed, b.max_speed)
        if b.engine is not None:
            trip.engine_seen = True
        trip.last_time = b.tl_dt
        if b.speed is None or b.speed > self._v_stop:
            self._last_move_t = min(t_next, b.tl + self._seg_gap)
        track = trip.track
        last = track[-1] if track else None
        if b.gap and last is not None:
            trip.segment += 1
        course = b.course
        if (
            course is None
            and last is not None
            and self._dist_m(last.latitude, last.longitude, b.lat, b.lon) >= 5.0
        ):
            course = round(bearing_deg(last.latitude, last.longitude, b.lat, b.lon), 1)
        point = TrackPoint(
            b.tl_dt,
            b.lat,
            b.lon,
            b.last_speed if b.last_speed is not None else b.speed,
            course,
            trip.segment,
        )
        track.append(point)
        if len(track) > self.config.max_track_points:
            self._shrink_track(trip)
        if self._announced:
            events.append(TrackPointAdded(trip, point))
        self._steady_sample(trip)

    def _shrink_track(self, trip: Trip) -> None:
        """Simplify until the track is at most 3/4 of its bound, doubling the tolerance."""
        limit = self.config.max_track_points * 3 // 4
        track = simplify_track(trip.track, trip.track_tolerance_m)
        while len(track) > limit:
            trip.track_tolerance_m *= 2.0
            track = simplify_track(track, trip.track_tolerance_m)
        trip.track = track

    def _steady_sample(self, trip: Trip) -> None:
        """Add an efficiency sample when the last steady_window_s of the leg were steady."""
        c = self.config
        win = self._win
        newest = win[-1]
        need = newest.tl - c.steady_window_s
        n = 0
        s_sum = s_sq = p_sum = p_sq = 0.0
        for b in reversed(win):
            spd = b.speed
            pw = b.power
            if b.t0 < self._leg_t or spd is None or pw is None or b.engine is False:
                return
            n += 1
            s_sum += spd
            s_sq += spd * spd
            p_sum += pw
            p_sq += pw * pw
            if b.t0 <= need:
                break
        else:
            return
        if n < 3:
            return
        s_mean = s_sum / n
        p_mean = p_sum / n
        if p_mean < c.steady_min_power_w or s_mean < self._mov_speed:
            return
        s_std = math.sqrt(max(0.0, s_sq / n - s_mean * s_mean))
        p_std = math.sqrt(max(0.0, p_sq / n - p_mean * p_mean))
        if s_std > c.steady_speed_std_kn * KNOT or p_std > c.steady_power_rel_std * p_mean:
            return
        v_kn = s_mean / KNOT
        key = int(v_kn / c.efficiency_bin_kn)
        bin_ = trip.efficiency.get(key)
        if bin_ is None:
            bin_ = trip.efficiency[key] = EfficiencyBin()
        bin_.add(round(v_kn, 3), round(p_mean, 1), c.efficiency_bin_cap)

    def _moving_bucket(self, b: _Bucket, events: list[Event]) -> None:
        """Under way: fold the bucket in, announce, then the stop rules."""
        trip = self._trip
        assert trip is not None
        self._accumulate(trip, b, self._b_t0, events)
        self._check_announce(events)
        if self._alarm:
            self._pause(self._alarm_t, self._alarm_dt, True, events)
            return
        eoff = self._eoff_t
        if eoff is not None:
            if b.tl - eoff <= self.config.engine_stop_window_s + self._bucket_s:
                spd = b.last_speed if b.last_speed is not None else b.speed
                if spd is not None and spd <= self._v_fast and self._eng_known is False:
                    self._eoff_t = None
                    self._pause(eoff, self._eoff_dt, False, events)
                    return
            else:
                self._eoff_t = None
        if b.speed is None or b.speed <= self._v_start:
            self._window_stop(b, events)

    def _window(self, since: float) -> list[_Bucket] | None:
        """The buckets from the last one starting at or before `since` (whose position is the one
        held at `since`) to the newest; None when the window reaches back before the data."""
        out: list[_Bucket] = []
        for x in reversed(self._win):
            out.append(x)
            if x.t0 <= since:
                out.reverse()
                return out
        return None

    def _confined(self, part: list[_Bucket]) -> bool:
        """Every position of `part` within stop_radius_m of their median position."""
        clat = _median([x.lat for x in part])
        clon = _median([x.lon for x in part])
        r = self.config.stop_radius_m / M_PER_DEG
        r2 = r * r
        cos = self._coslat
        for x in part:
            dy = x.lat - clat
            dx = _wrap(x.lon - clon) * cos
            if dy * dy + dx * dx > r2:
                return False
        return True

    def _window_stop(self, b: _Bucket, events: list[Event]) -> None:
        """Every position of the last stop_window_s within stop_radius_m of the window median and
        median speed <= stop_speed_kn; or, whatever the speed, every position of the last
        stop_confined_s within stop_radius_m (a boat sheering on its anchor)."""
        c = self.config
        part = self._window(b.tl - c.stop_window_s)
        if part is None or not self._confined(part):
            return
        speeds = [x.speed for x in part[1:] if x.speed is not None]
        if not speeds or _median(speeds) <= self._v_stop:
            # back-date to the first bucket of the trailing slow run. part[0] (the bucket whose
            # last fix is the position held at the window's start) belongs to it when it is slow
            # too: with sparse fixes at rest it is the fix where the boat came to rest.
            first = part[-1]
            for x in reversed(part):
                if x.t0 < self._leg_t or (x.speed is not None and x.speed > self._v_stop):
                    break
                first = x
            self._pause(first.t0, first.t0_dt, False, events)
            return
        if c.stop_confined_s <= c.stop_window_s:
            return
        part = self._window(b.tl - c.stop_confined_s)
        if part is None or not self._confined(part):
            return
        first = next((x for x in part[1:] if x.t0 >= self._leg_t), part[-1])
        self._pause(first.t0, first.t0_dt, False, events)

    def _pause(
        self, arr_t: float, arr_dt: datetime | None, anchored: bool, events: list[Event]
    ) -> None:
        """The boat came to rest at arr_t: pause the trip, waiting for the merge window."""
        trip = self._trip
        assert trip is not None
        if arr_dt is None or arr_t < self._leg_t:  # never before the leg began
            first = next((x for x in self._win if x.t0 >= self._leg_t), self._win[-1])
            arr_t, arr_dt = first.t0, first.t0_dt
        rest = [x for x in self._win if x.t0 >= arr_t and x.t0 >= self._leg_t]
        for x in rest:  # the rest period does not belong to the moving leg
            trip.distance_m -= x.dist
            trip.log_m -= x.log
            trip.energy_j -= x.energy
            trip.power_s -= x.power_s
            trip.engine_s -= x.engine_s
            trip.moving_s -= x.moving_s
        trip.distance_m = max(0.0, trip.distance_m)
        trip.log_m = max(0.0, trip.log_m)
        trip.power_s = max(0.0, trip.power_s)
        trip.engine_s = max(0.0, trip.engine_s)
        trip.moving_s = max(0.0, trip.moving_s)
        if rest:
            lat = _median([x.lat for x in rest])
            lon = _median([x.lon for x in rest])
        else:
            lat, lon = self._win[-1].lat, self._win[-1].lon
        track = trip.track
        while len(track) > 1 and track[-1].time > arr_dt:
            track.pop()
        if track[-1].time < arr_dt:
            track.append(TrackPoint(arr_dt, lat, lon, None, None, trip.segment))
        trip.last_time = arr_dt
        stop = Stop(arr_dt, None, lat, lon, anchored)
        self._stop = stop
        self._state = _PAUSED
        self._arr_t = arr_t
        self._arr_dt = arr_dt
        self._floor_t = arr_t
        self._rlat = lat
        self._rlon = lon
        self._rn = max(1, len(rest))
        if self._announced:
            events.append(StopStarted(trip, stop))

    def _maybe_expire(self, now: float, events: list[Event]) -> None:
        """Paused: end the trip once no departure can start within the merge window."""
        deadline = self._arr_t + self.config.merge_gap_s
        if now < deadline:
            return
        if now < deadline + self.config.stop_window_s:
            k = self._run_start(True, self._v_stop)
            if k >= 0 and self._win[k].t0 < deadline:
                return  # a departure that began in time may still be confirmed
        self._finalize_pause(events)

    def _finalize_pause(self, events: list[Event]) -> None:
        """The pending stop becomes the trip's end."""
        trip = self._trip
        stop = self._stop
        assert trip is not None and stop is not None
        self._end_trip(trip, stop.start, (stop.latitude, stop.longitude), self._arr_t, events)
        self._state = _REST

    def _end_after_gap(self, events: list[Event]) -> None:
        """A gap of gap_s ends an open trip at its last good point, a paused one at its stop."""
        if self._state == _MOVING:
            trip = self._trip
            assert trip is not None
            self._end_trip(
                trip, trip.last_time, (self._lat, self._lon), trip.last_time.timestamp(), events
            )
        elif self._state == _PAUSED:
            self._finalize_pause(events)
        self._state = _REST
        self._rlat, self._rlon, self._rn = self._lat, self._lon, 1
        self._floor_t = self._t

    def _end_trip(
        self,
        trip: Trip,
        end: datetime,
        position: tuple[float, float],
        end_t: float,
        events: list[Event],
    ) -> None:
        lat, lon = position
        # the same rule as the announcement (_check_announce), the movement cut at the end: a
        # trip kept now was announced already (the end only takes movement back)
        qualifies = self._qualifies(trip, min(end_t, self._last_move_t))
        if qualifies and not self._announced:  # never happens; the events stay well-formed
            self._announced = True
            events.append(TripStarted(trip))
            events.extend(TrackPointAdded(trip, p) for p in trip.track if p.time <= end)
        trip.end = end
        trip.last_time = end
        trip.end_latitude = lat
        trip.end_longitude = lon
        trip.track = simplify_track(trip.track, trip.track_tolerance_m)
        if qualifies:
            events.append(TripEnded(trip))
            if self._collect:
                self._collected.append(trip)
        elif self._announced:
            events.append(TripDiscarded(trip))
        self._trip = None
        self._stop = None
        self._announced = False

    def _qualifies(self, trip: Trip, end_t: float) -> bool:
        c = self.config
        return (
            trip.distance_m >= c.min_trip_nm * NAUTICAL_MILE
            and end_t - self._trip_t0 >= c.min_trip_s
        )

    def _check_announce(self, events: list[Event]) -> None:
        trip = self._trip
        if self._announced or trip is None:
            return
        if self._qualifies(trip, self._last_move_t):
            self._announced = True
            events.append(TripStarted(trip))
            events.extend(TrackPointAdded(trip, p) for p in trip.track)


def detect_trips(samples: Iterable[Sample], config: DetectorConfig | None = None) -> list[Trip]:
    """Run a detector over `samples` and return every trip (the last one may be open)."""
    detector = TripDetector(config)
    detector.feed(samples)
    return detector.finish()

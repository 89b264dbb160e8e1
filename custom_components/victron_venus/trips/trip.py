"""The records of the trip detector: samples, buckets, track points, stops, trips, events.

Pure: standard library only, no I/O, no Home Assistant. The rules that turn samples into trips are
in detector.py (the samples reach them through sampling.py); this module holds the records they
read and write, and their JSON form.

Units: `Sample.speed` is speed over ground in m/s, `Sample.power` is W (positive = energy drawn),
times are timezone-aware datetimes. Trips report nautical miles, knots, Wh and hours, and keep SI
accumulators (metres, joules, seconds) so a saved trip resumes exactly.

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
* Events carry the live `Trip` object: serialise it (`Trip.to_dict()`) if a copy is needed.
  `TrackPointAdded` events stream the trip's track (one point per bucket, about every 10 s while
  under way; points after the eventual `Trip.end` can appear, filter by time); the trip itself keeps
  only a Douglas-Peucker simplified, size-bounded track.

JSON: `json_codec(cls)` derives a record's JSON form from its dataclass (or NamedTuple) fields and
their annotations, so a field added to a record is saved and restored with no other line to write.
An annotation with no JSON form raises TypeError when the codec is built: for the detector's
snapshot (every record here included) that is when detector.py is imported, never later.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
import math
from operator import attrgetter
from types import NoneType, UnionType
from typing import Any, ClassVar, NamedTuple, get_args, get_origin, get_type_hints

KNOT = 1852.0 / 3600.0
"""One knot in m/s."""
NAUTICAL_MILE = 1852.0
"""One nautical mile in metres."""
EARTH_RADIUS_M = 6371008.8
"""Mean Earth radius (IUGG) used for every distance."""
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
"""Metres per degree of latitude (and of longitude at the equator)."""


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


def wrap(dlon: float) -> float:
    """A longitude difference brought into [-180, 180]."""
    if dlon > 180.0:
        return dlon - 360.0
    if dlon < -180.0:
        return dlon + 360.0
    return dlon


def local_m(lat1: float, lon1: float, lat2: float, lon2: float, coslat: float) -> float:
    """Metres between two positions: an equirectangular step with `coslat` (the cosine of a
    latitude near both), haversine from 5 km on."""
    dy = lat2 - lat1
    dx = wrap(lon2 - lon1) * coslat
    d = math.sqrt(dy * dy + dx * dx) * M_PER_DEG
    return d if d < 5000.0 else haversine_m(lat1, lon1, lat2, lon2)


# --------------------------------------------------------------------------------------------
# JSON form, derived from the fields

type _Encode = Callable[[Any], Any]
type _Decode = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def finite_or_none(value: float | None) -> float | None:
    """A number as strict JSON allows it: NaN and infinities become None (no value)."""
    return value if value is not None and math.isfinite(value) else None


def _codec(tp: Any) -> tuple[_Encode, _Decode]:
    """(encode, decode) between values of the resolved annotation `tp` and their JSON form;
    TypeError for an annotation this module has no JSON form for."""
    if tp in (bool, int, float, str):
        return _same, _same
    if tp is datetime:
        return datetime.isoformat, datetime.fromisoformat
    origin, args = get_origin(tp), get_args(tp)
    if origin is UnionType and len(args) == 2 and NoneType in args:
        inner = args[0] if args[1] is NoneType else args[1]
        if inner is float:
            return finite_or_none, _same
        enc, dec = _codec(inner)
        if enc is _same and dec is _same:
            return _same, _same
        return (
            lambda v: None if v is None else enc(v),
            lambda v: None if v is None else dec(v),
        )
    if origin in (list, deque) and len(args) == 1:
        enc, dec = _codec(args[0])
        if enc is _same:
            return list, origin
        return lambda v: [enc(x) for x in v], lambda v: origin(dec(x) for x in v)
    if origin is tuple and args and Ellipsis not in args and all(a in (int, float) for a in args):
        return list, tuple
    if origin is dict and len(args) == 2 and args[0] is int:
        enc, dec = _codec(args[1])
        return (
            lambda v: {str(k): enc(x) for k, x in v.items()},
            lambda v: {int(k): dec(x) for k, x in v.items()},
        )
    if isinstance(tp, type) and (
        is_dataclass(tp) or (issubclass(tp, tuple) and hasattr(tp, "_fields"))
    ):
        codec = json_codec(tp)
        return codec.encode, codec.decode
    raise TypeError(f"no JSON form for {tp!r}: teach trip._codec the type")


class JsonCodec[T]:
    """The JSON form of a record class, derived from its fields and their annotations.

    A dataclass becomes a dict {field name: value} (a missing key takes the field's default on the
    way back, so older data still loads); a NamedTuple, or a dataclass with `JSON_AS_LIST = True`,
    becomes a list in field order. Datetimes become ISO 8601 strings, `float | None` maps NaN and
    infinities to None, dict[int, X] keys become strings, nested records recurse.
    """

    __slots__ = ("_convert", "_decoders", "_get", "as_list", "cls", "names")

    def __init__(self, cls: type[T]) -> None:
        """Build the codec; TypeError for a field whose annotation has no JSON form."""
        self.cls = cls
        if is_dataclass(cls):
            self.names: tuple[str, ...] = tuple(f.name for f in fields(cls))
            self.as_list = bool(getattr(cls, "JSON_AS_LIST", False))
        else:
            self.names = tuple(getattr(cls, "_fields"))  # noqa: B009 - a NamedTuple's field names
            self.as_list = True
        hints = get_type_hints(cls)
        codecs = [_codec(hints[name]) for name in self.names]
        names = self.names
        self._get: Callable[[T], tuple[Any, ...]] = (
            attrgetter(*names)
            if len(names) > 1
            else lambda obj: tuple(getattr(obj, n) for n in names)
        )
        self._convert = [(i, enc) for i, (enc, _) in enumerate(codecs) if enc is not _same]
        self._decoders = [
            (i, name, dec)
            for i, (name, (_, dec)) in enumerate(zip(self.names, codecs, strict=True))
        ]

    def encode(self, obj: T) -> Any:
        """The JSON-safe form of `obj` (a list or a dict, see the class docstring)."""
        values = list(self._get(obj))
        for i, enc in self._convert:
            values[i] = enc(values[i])
        return values if self.as_list else dict(zip(self.names, values, strict=True))

    def decode(self, data: Any) -> T:
        """Inverse of `encode`. KeyError / TypeError / ValueError for data of another shape."""
        if self.as_list:
            return self.cls(*[dec(data[i]) for i, _, dec in self._decoders])
        return self.cls(
            **{name: dec(data[name]) for _, name, dec in self._decoders if name in data}
        )

    def fill(self, obj: T, data: dict[str, Any]) -> None:
        """Set every field of `obj` that `data` (a dict form) has; the others keep their value."""
        for _, name, dec in self._decoders:
            if name in data:
                setattr(obj, name, dec(data[name]))


_CODECS: dict[type, JsonCodec[Any]] = {}


def json_codec[T](cls: type[T]) -> JsonCodec[T]:
    """The (cached) `JsonCodec` of a record class."""
    codec = _CODECS.get(cls)
    if codec is None:
        codec = _CODECS[cls] = JsonCodec(cls)
    return codec


# --------------------------------------------------------------------------------------------
# Input


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


class Bucket(NamedTuple):
    """Everything the detector's rules need of ~bucket_s of samples. Integrals cover the legs that
    start in the bucket; position and `last_speed` are those of its last fix. SI units."""

    t0: float  # POSIX seconds of the first fix
    t0_dt: datetime
    lat0: float  # first fix
    lon0: float
    tl: float  # last fix
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


# --------------------------------------------------------------------------------------------
# Outputs


@dataclass(slots=True)
class TrackPoint:
    """A point of a trip's track: `speed` m/s, `course` degrees, `segment` counts data gaps."""

    JSON_AS_LIST: ClassVar[bool] = True

    time: datetime
    latitude: float
    longitude: float
    speed: float | None = None
    course: float | None = None
    segment: int = 0

    def to_list(self) -> list[Any]:
        """Compact JSON-safe form: [iso time, lat, lon, speed, course, segment]."""
        result: list[Any] = json_codec(TrackPoint).encode(self)
        return result

    @classmethod
    def from_list(cls, data: list[Any]) -> TrackPoint:
        """Inverse of `to_list`."""
        return json_codec(TrackPoint).decode(data)


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
        """JSON-safe dict of every field."""
        result: dict[str, Any] = json_codec(Stop).encode(self)
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stop:
        """Inverse of `to_dict`."""
        return json_codec(Stop).decode(data)


@dataclass(slots=True)
class EfficiencyBin:
    """Steady-state (speed kn, power W) pairs of one speed bin, thinned to a bounded size.

    Every `stride`-th sample is kept; when `samples` outgrows the cap, every other one is dropped
    and the stride doubles, so the bin stays a uniform subsample of everything seen.
    """

    JSON_AS_LIST: ClassVar[bool] = True

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
    last_time: datetime  # where the folded legs end (the next fix after the last folded bucket)
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

    # -- what the detector does to a trip ----------------------------------------------------
    def fold(
        self, b: Bucket, coslat: float, max_points: int, until: datetime | None = None
    ) -> TrackPoint:
        """Add a bucket of the moving leg: its integrals, top speed and engine data, and its last
        fix to the track, which is returned. The trip's time runs to `until`, where the bucket's
        legs end (the next bucket's first fix; default: the bucket's last fix). The point starts
        a new segment after a gap; without a course of its own it takes the course from the
        previous point when the boat moved >= 5 m (`local_m` with `coslat`). The track is then
        kept within `max_points`."""
        self.distance_m += b.dist
        self.log_m += b.log
        self.energy_j += b.energy
        self.power_s += b.power_s
        self.engine_s += b.engine_s
        self.moving_s += b.moving_s
        self.max_speed = max(self.max_speed, b.max_speed)
        if b.engine is not None:
            self.engine_seen = True
        self.last_time = b.tl_dt if until is None else until
        track = self.track
        last = track[-1] if track else None
        if b.gap and last is not None:
            self.segment += 1
        course = b.course
        if (
            course is None
            and last is not None
            and local_m(last.latitude, last.longitude, b.lat, b.lon, coslat) >= 5.0
        ):
            course = round(bearing_deg(last.latitude, last.longitude, b.lat, b.lon), 1)
        point = TrackPoint(
            b.tl_dt,
            b.lat,
            b.lon,
            b.last_speed if b.last_speed is not None else b.speed,
            course,
            self.segment,
        )
        track.append(point)
        if len(track) > max_points:
            self.bound_track(max_points)
        return point

    def take_back(self, buckets: Iterable[Bucket]) -> None:
        """Remove the integrals of folded buckets that turned out to be at rest (a stop back-dated
        into them); the non-negative ones stay >= 0 (energy may be negative: charging)."""
        for x in buckets:
            self.distance_m -= x.dist
            self.log_m -= x.log
            self.energy_j -= x.energy
            self.power_s -= x.power_s
            self.engine_s -= x.engine_s
            self.moving_s -= x.moving_s
        self.distance_m = max(0.0, self.distance_m)
        self.log_m = max(0.0, self.log_m)
        self.power_s = max(0.0, self.power_s)
        self.engine_s = max(0.0, self.engine_s)
        self.moving_s = max(0.0, self.moving_s)

    def settled(self, pending: list[Bucket]) -> Settled:
        """The trip's figures without those of `pending` (folded buckets a stop may still take
        back, oldest first), its time under way ending where they begin."""
        distance = self.distance_m
        engine = self.engine_s
        energy = self.energy_j
        power_s = self.power_s
        until = self.last_time
        for b in pending:
            distance -= b.dist
            engine -= b.engine_s
            energy -= b.energy
            power_s -= b.power_s
        if pending and pending[0].t0_dt < until:
            until = pending[0].t0_dt
        underway = (until - self.start).total_seconds() - self.stopped_s
        return Settled(
            self.id,
            max(0.0, distance),
            max(0.0, underway),
            max(0.0, engine),
            energy,
            max(0.0, power_s),
        )

    def bound_track(self, max_points: int) -> None:
        """Above `max_points`, simplify the track until it is at most 3/4 of that bound, doubling
        the tolerance as needed."""
        if len(self.track) <= max_points:
            return
        limit = max_points * 3 // 4
        track = simplify_track(self.track, self.track_tolerance_m)
        while len(track) > limit:
            self.track_tolerance_m *= 2.0
            track = simplify_track(track, self.track_tolerance_m)
        self.track = track

    def add_efficiency(self, speed_kn: float, power_w: float, bin_kn: float, cap: int) -> None:
        """Offer a steady-state (speed kn, power W) sample to its speed bin (`bin_kn` wide)."""
        key = int(speed_kn / bin_kn)
        bin_ = self.efficiency.get(key)
        if bin_ is None:
            bin_ = self.efficiency[key] = EfficiencyBin()
        bin_.add(round(speed_kn, 3), round(power_w, 1), cap)

    def close(self, end: datetime, latitude: float, longitude: float) -> None:
        """End the trip at `end` and that position; the track is simplified for keeps."""
        self.end = end
        self.last_time = end
        self.end_latitude = latitude
        self.end_longitude = longitude
        self.track = simplify_track(self.track, self.track_tolerance_m)

    # -- serialisation ---------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Small JSON-safe summary (no track): for events, attributes and the trips index."""
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
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
        """Every field, JSON-safe (tracks as compact lists), plus the derived `summary`."""
        data: dict[str, Any] = json_codec(Trip).encode(self)
        data["summary"] = self.summary()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trip:
        """Inverse of `to_dict` (the derived `summary` is ignored; missing fields take defaults)."""
        return json_codec(Trip).decode(data)


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

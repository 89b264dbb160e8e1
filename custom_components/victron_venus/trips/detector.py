"""Automatic trip detection for a boat's logbook: timestamped samples in, trips out.

Pure and streaming: standard library only, no I/O, no Home Assistant. The same object runs live
(one `add()` per state change), over recorder history and in tests, and its whole state can be
saved with `snapshot()` and resumed with `TripDetector.restore()` after a restart.

This module holds the rules (the state machine). The samples reach it through sampling.py; the
records it reads and writes (`Sample`, `Trip`, `Stop`, `TrackPoint`, the events), their units and
how distance and the track are kept are in trip.py, re-exported here. Feed `Sample.power` with
propulsion power when the boat has it, otherwise battery discharge power.

State: the fields of the dataclasses `SamplerState` and `DetectorState` are everything the detector
remembers between samples. `snapshot()` saves exactly those fields (`dataclasses.fields`), so a
field added there is saved and restored with no list to update; a snapshot written before a field
existed restores with the field's default. Version 1 snapshots (fields listed by name) migrate.

How it decides (defaults in `DetectorConfig`, from ../shared/reference/logbook.md §3.3 and §8):

* Samples are validated and folded into 10 s buckets by `sampling.Sampler`, the base class;
  the rules run once per closed bucket, on the rolling window of buckets.
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

The real 4-hour sailing track in ../shared/fixtures/gps/plaka.nmea gives ONE trip with a stop:
the boat comes to rest at 12:03:59 UTC (SOG below 0.3 kn) and leaves again at 12:22:24, a pause of
18.4 min within a few metres. That is below the 20 min / 300 m merge rule, which exists for exactly
this (locks, bridges, fuel docks, a short wait). So the trip runs from 09:55:59 to the end of the
data, still open, with one stop: 18.74 nm over ground, 18.80 nm by the SOG integral (the raw sum
of the 2 s legs is 18.96 nm, inflated about 1 % by the 0.001' quantisation of GLL positions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
import math
from typing import Any

from .sampling import NO_DATA, OpenBucket, Sampler
from .trip import (
    EARTH_RADIUS_M,
    KNOT,
    M_PER_DEG,
    NAUTICAL_MILE,
    Bucket,
    EfficiencyBin,
    Event,
    Sample,
    Settled,
    Stop,
    StopEnded,
    StopStarted,
    TrackPoint,
    TrackPointAdded,
    Trip,
    TripDiscarded,
    TripEnded,
    TripStarted,
    bearing_deg,
    haversine_m,
    json_codec,
    simplify_track,
    wrap,
)

__all__ = [
    "EARTH_RADIUS_M",
    "KNOT",
    "M_PER_DEG",
    "NAUTICAL_MILE",
    "DetectorConfig",
    "DetectorState",
    "EfficiencyBin",
    "Event",
    "Sample",
    "Settled",
    "Stop",
    "StopEnded",
    "StopStarted",
    "TrackPoint",
    "TrackPointAdded",
    "Trip",
    "TripDetector",
    "TripDiscarded",
    "TripEnded",
    "TripStarted",
    "bearing_deg",
    "detect_trips",
    "haversine_m",
    "simplify_track",
]

_SNAPSHOT_VERSION = 2


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


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
# The detector's state


_REST, _MOVING, _PAUSED = 0, 1, 2
_STATE_NAMES = {_REST: "at_rest", _MOVING: "underway", _PAUSED: "stopped"}


@dataclass(slots=True, eq=False, repr=False)
class DetectorState(Sampler):
    """The state machine's part of what a `TripDetector` remembers (`SamplerState` has the rest;
    as a dataclass on top of `Sampler` its fields join theirs); `snapshot()` saves every field of
    both. Units as in `SamplerState`."""

    _state: int = _REST
    _rlat: float = 0.0  # rest point
    _rlon: float = 0.0
    _rn: int = 0
    _floor_t: float = NO_DATA  # no back-dating before this time
    _leg_t: float = NO_DATA  # first bucket of the current moving leg
    _trip: Trip | None = None  # open or paused, announced or still a candidate
    _trip_t0: float = 0.0
    _last_move_t: float = 0.0
    _announced: bool = False
    _arr_t: float = 0.0  # arrival time of the pending stop
    _arr_dt: datetime | None = None
    _stop: Stop | None = None
    _collected: list[Trip] = field(default_factory=list)  # ended since finish(), if collecting


_STATE_JSON = json_codec(DetectorState)  # built at import: a field with no JSON form fails here


def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    """A version 1 snapshot (its fields listed by name: the bucket as `_b_*`, the window, trip,
    stop and collected trips beside the state) in the version 2 form."""
    old = data["state"]
    state = {k: v for k, v in old.items() if not k.startswith("_b_")}
    state["_bucket"] = {k[3:]: v for k, v in old.items() if k.startswith("_b_")}
    state["_win"] = data["window"]
    state["_trip"] = data["trip"]
    state["_stop"] = data["stop"]
    state["_collected"] = data.get("collected", [])
    return {**data, "version": _SNAPSHOT_VERSION, "state": state}


class TripDetector(DetectorState):
    """Streaming trip detector. See the module docstring for the rules.

    `add(sample)` returns the events it caused. `finish()` ends a replay: it closes a paused trip
    and returns the trips ended since the last `finish()` (when `collect` is True) plus the open
    trip, if any (its `end` is None). With `collect=False` (live use) ended trips are only
    delivered through `TripEnded` events, and memory stays constant whatever the history length.
    """

    __slots__ = ("_alpha", "_collect", "_v_engine", "_v_fast", "_v_start", "_v_stop", "config")

    def __init__(self, config: DetectorConfig | None = None, *, collect: bool = True) -> None:
        super().__init__()  # every field of SamplerState and DetectorState at its default
        self.config = c = config or DetectorConfig()
        self._collect = collect
        self._set_limits(
            bucket_s=c.bucket_s,
            gap_s=c.gap_s,
            segment_gap_s=c.segment_gap_s,
            max_speed=c.max_speed_kn * KNOT,
            jitter_m=c.jitter_distance_m,
            reject_recovery=c.reject_recovery,
            moving_speed=c.moving_speed_kn * KNOT,
            window_s=max(c.stop_window_s, c.stop_confined_s),
        )
        self._v_start = c.start_speed_kn * KNOT
        self._v_stop = c.stop_speed_kn * KNOT
        self._v_fast = c.engine_stop_speed_kn * KNOT
        self._v_engine = c.engine_start_speed_kn * KNOT
        self._alpha = min(1.0, c.bucket_s / c.rest_tau_s)

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
        leg = self._leg_t
        return trip.settled([b for b in self._win if b.t0 >= leg] if self._state == _MOVING else [])

    def feed(self, samples: Iterable[Sample]) -> list[Event]:
        """`add()` every sample; all events in order."""
        events: list[Event] = []
        add = self.add
        for sample in samples:
            out = add(sample)
            if out:
                events.extend(out)
        return events

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
        """The complete state as a JSON-safe dict (for Home Assistant's Store): every field of
        `DetectorState`, the configuration and `collect`."""
        return {
            "version": _SNAPSHOT_VERSION,
            "config": self.config.to_dict(),
            "collect": self._collect,
            "state": _STATE_JSON.encode(self),
        }

    @classmethod
    def restore(cls, data: dict[str, Any], config: DetectorConfig | None = None) -> TripDetector:
        """Rebuild a detector from `snapshot()` (version 2, or 1 migrated); `config` overrides the
        saved one. KeyError, TypeError or ValueError for data that is no snapshot."""
        if data.get("version") == 1:
            data = _from_version_1(data)
        if data.get("version") != _SNAPSHOT_VERSION:
            raise ValueError(f"unsupported detector snapshot version {data.get('version')!r}")
        det = cls(
            config or DetectorConfig.from_dict(data["config"]),
            collect=bool(data.get("collect", True)),
        )
        _STATE_JSON.fill(det, data["state"])
        return det

    # -- the sampler's hooks ------------------------------------------------------------------
    def _bucket_closed(self, b: Bucket, events: list[Event]) -> None:
        if self._state == _MOVING:
            self._moving_bucket(b, events)
        else:
            self._rest_bucket(b, events)

    def _data_gap(self, events: list[Event]) -> None:
        self._close_final(events)
        self._end_after_gap(events)

    def _restarted(self, t: float, lat: float, lon: float) -> None:
        self._state = _REST
        self._rlat, self._rlon, self._rn = lat, lon, 1
        self._floor_t = t

    def _fix_replaced(self, t: float, tdt: datetime, lat: float, lon: float) -> None:
        if self._state != _MOVING:  # forget where we thought we were resting
            self._win.clear()
            self._rlat, self._rlon, self._rn = lat, lon, 1
            self._floor_t = t
            self._bucket = OpenBucket(t, tdt, lat, lon)

    # -- bucket level ------------------------------------------------------------------------
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

    def _rest_bucket(self, b: Bucket, events: list[Event]) -> None:
        """At rest or paused: the start rules, then the rest point and the pause expiry."""
        if not self._alarm:
            start = -1
            win = self._win
            n = len(win)
            dy = b.lat - self._rlat
            dx = wrap(b.lon - self._rlon) * self._coslat
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
        self._rlon += w * wrap(b.lon - self._rlon)
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
            if i < last:
                self._accumulate(trip, win[i], win[i + 1].t0, win[i + 1].t0_dt, events)
            else:
                self._accumulate(trip, win[i], self._bucket.t0, self._bucket.t0dt, events)

    def _accumulate(
        self,
        trip: Trip,
        b: Bucket,
        t_next: float,
        t_next_dt: datetime | None,
        events: list[Event],
    ) -> None:
        """Fold a bucket of the moving leg into the trip: integrals, track, efficiency.

        `t_next` (`t_next_dt`) is where the bucket's legs end (the start of the next bucket), or
        `segment_gap_s` past its last fix when the next fix came after a gap (its integrals count
        no more either): the trip's time runs to there, as its distance does (with a fix every
        30 s, ending the time at the bucket's last fix put one leg's distance into a time 30 s
        short), and a moving bucket moves the trip's last movement there."""
        end = min(t_next, b.tl + self._seg_gap)
        if t_next_dt is None or end < t_next:
            until = b.tl_dt + timedelta(seconds=end - b.tl)
        else:
            until = t_next_dt
        point = trip.fold(b, self._coslat, self.config.max_track_points, until)
        if b.speed is None or b.speed > self._v_stop:
            self._last_move_t = end
        if self._announced:
            events.append(TrackPointAdded(trip, point))
        self._steady_sample(trip)

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
        trip.add_efficiency(s_mean / KNOT, p_mean, c.efficiency_bin_kn, c.efficiency_bin_cap)

    def _moving_bucket(self, b: Bucket, events: list[Event]) -> None:
        """Under way: fold the bucket in, announce, then the stop rules."""
        trip = self._trip
        assert trip is not None
        self._accumulate(trip, b, self._bucket.t0, self._bucket.t0dt, events)
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

    def _confined(self, part: list[Bucket]) -> bool:
        """Every position of `part` within stop_radius_m of their median position."""
        clat = _median([x.lat for x in part])
        clon = _median([x.lon for x in part])
        r = self.config.stop_radius_m / M_PER_DEG
        r2 = r * r
        cos = self._coslat
        for x in part:
            dy = x.lat - clat
            dx = wrap(x.lon - clon) * cos
            if dy * dy + dx * dx > r2:
                return False
        return True

    def _window_stop(self, b: Bucket, events: list[Event]) -> None:
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
        trip.take_back(rest)  # the rest period does not belong to the moving leg
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
        trip.close(end, lat, lon)
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

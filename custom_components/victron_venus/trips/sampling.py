"""Samples into buckets: the sampling side of the trip detector.

Pure and streaming: standard library only, no I/O, no Home Assistant. `Sampler` is the base class
of `detector.TripDetector`: it takes the samples (`add()`), and the detector's state machine runs
on the buckets it closes (`_bucket_closed`). Units as in trip.py.

* Fixes are validated first, cheapest test first: null, out-of-range and (0, 0) positions, times
  that repeat or go backwards, and fixes implying more than 40 kn from the previous good fix
  (GPS jumps) are dropped. After 10 consecutive "jumps" the new position is taken as the truth
  (the previous fix was the outlier), without adding the jump to the distance.
* Samples are folded into 10 s buckets (the last fix, mean speed, mean power, engine state and the
  integrals of the bucket). The rules are evaluated once per bucket on a rolling window of buckets
  (a deque of at most ~180 entries, 30 min), so the per-sample work is a handful of float
  operations and memory does not grow with history length. Without SOG a bucket's speed is
  derived from its displacement over >= 30 s.
* Distance, the integrals and their zero-order hold: see trip.py. The sampler also notes when the
  engine went off and when the anchor alarm was set, for the stop rules.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
import math

from .trip import M_PER_DEG, Bucket, Event, Sample, finite_or_none, local_m, wrap

NO_DATA = -1.0e18
"""The time (POSIX s) of "the previous sample" before any sample: every first interval is a gap."""


@dataclass(slots=True)
class OpenBucket:
    """The bucket being filled: sums and counts of the samples since `t0` (POSIX s), integrals of
    the legs that start in it (`dist` in degrees until it is closed; then metres), and `gap` when
    a data gap precedes it. `close()` turns it into the `Bucket` the rules read."""

    t0: float = NO_DATA
    t0dt: datetime | None = None
    lat0: float = 0.0  # first fix
    lon0: float = 0.0
    dist: float = 0.0  # degrees (scaled at close)
    log: float = 0.0  # m
    energy: float = 0.0  # J
    pdt: float = 0.0  # s with power known
    engine: float = 0.0  # s with the engine on
    moving: float = 0.0  # s above moving_speed_kn
    smax: float = 0.0  # top speed m/s
    ssum: float = 0.0  # sum and count of the samples' speeds, powers, engine states
    sn: int = 0
    psum: float = 0.0
    pn: int = 0
    eon: int = 0
    eoff: int = 0
    gap: bool = False

    def close(  # noqa: PLR0917 - once per bucket on the sample path: positional is cheapest
        self,
        tl: float,
        tl_dt: datetime,
        lat: float,
        lon: float,
        speed: float | None,
        last_speed: float | None,
        course: float | None,
    ) -> Bucket:
        """The closed bucket, its last fix at `tl` (POSIX s) / `tl_dt` and (lat, lon); `speed`
        stands in for the mean speed when no sample of the bucket had one."""
        assert self.t0dt is not None
        sn = self.sn
        pn = self.pn
        eon = self.eon
        eoff = self.eoff
        return Bucket(
            self.t0,
            self.t0dt,
            self.lat0,
            self.lon0,
            tl,
            tl_dt,
            lat,
            lon,
            self.ssum / sn if sn else speed,
            self.dist * M_PER_DEG,
            self.log,
            self.energy,
            self.pdt,
            self.engine,
            self.moving,
            self.smax,
            self.psum / pn if pn else None,
            (eoff == 0) if (eon or eoff) else None,
            last_speed,
            course,
            self.gap,
        )


@dataclass(slots=True, eq=False, repr=False)
class SamplerState:
    """What the sampler remembers between samples (saved by `TripDetector.snapshot()`).

    Times are POSIX seconds (`_t`, `_..._t`) with their datetimes beside them (`_..._dt`) where
    events need them; positions are degrees, speeds m/s, power W.
    """

    # the previous accepted fix: its values are held over the next leg
    _has_data: bool = False
    _t: float = NO_DATA
    _tdt: datetime | None = None
    _lat: float = 0.0
    _lon: float = 0.0
    _sp: float | None = None
    _pw: float | None = None
    _eng: bool | None = None
    _crs: float | None = None
    _coslat: float = 1.0
    _alat: float = 0.0  # last fix counted in the distance
    _alon: float = 0.0
    _rejects: int = 0  # consecutive jumps
    _n_accepted: int = 0
    _n_bad_fix: int = 0
    _n_bad_time: int = 0
    _n_jump: int = 0
    # engine and anchor alarm changes, for the stop rules
    _eng_known: bool | None = None  # the last known engine state
    _eoff_t: float | None = None  # engine switched off at (None once the rules took it)
    _eoff_dt: datetime | None = None
    _alarm: bool = False
    _alarm_t: float = 0.0
    _alarm_dt: datetime | None = None
    # the bucket being filled and the rolling window of closed ones
    _bucket: OpenBucket = field(default_factory=OpenBucket)
    _win: deque[Bucket] = field(default_factory=deque)


class Sampler(SamplerState):
    """Validates fixes and folds samples into buckets; a subclass runs rules on each closed one.

    `_set_limits()` must be called once before the first sample (`TripDetector.__init__` does).
    The hooks `_bucket_closed`, `_data_gap`, `_restarted` and `_fix_replaced` are where the
    subclass's state machine joins in; here they do nothing.
    """

    __slots__ = (
        "_bucket_s",
        "_gap_s",
        "_jit2",
        "_mov_speed",
        "_reject_recovery",
        "_seg_gap",
        "_vmax",
        "_vmax2",
        "_window_s",
    )

    def _set_limits(
        self,
        *,
        bucket_s: float,
        gap_s: float,
        segment_gap_s: float,
        max_speed: float,
        jitter_m: float,
        reject_recovery: int,
        moving_speed: float,
        window_s: float,
    ) -> None:
        """The sampling limits: seconds, m/s and metres (see `detector.DetectorConfig`);
        `window_s` is how much history the window keeps."""
        self._bucket_s = bucket_s
        self._gap_s = gap_s
        self._seg_gap = segment_gap_s
        self._vmax = max_speed
        self._vmax2 = (max_speed / M_PER_DEG) ** 2
        self._jit2 = (jitter_m / M_PER_DEG) ** 2
        self._reject_recovery = reject_recovery
        self._mov_speed = moving_speed
        self._window_s = window_s

    # -- the subclass's hooks ----------------------------------------------------------------
    def _bucket_closed(self, b: Bucket, events: list[Event]) -> None:
        """`b` was closed and appended to the window: run the rules, append their events."""

    def _data_gap(self, events: list[Event]) -> None:
        """A sample came after a gap of more than gap_s (the sampler then restarts on it)."""

    def _restarted(self, t: float, lat: float, lon: float) -> None:
        """The sampler restarted on the first sample or the first after a gap, at (lat, lon)."""

    def _fix_replaced(self, t: float, tdt: datetime, lat: float, lon: float) -> None:
        """After reject_recovery jumps in a row the new position was taken as the truth."""

    # -- the sample path ---------------------------------------------------------------------
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
        b = self._bucket
        # distance with jitter suppression
        dy = lat - self._alat
        dx = (lon - self._alon) * cos
        d2 = dy * dy + dx * dx
        if d2 >= self._jit2:
            b.dist += math.sqrt(d2)
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
            b.log += psp * dt
            if psp >= self._mov_speed:
                b.moving += dt
        ppw = self._pw
        if ppw is not None:
            b.energy += ppw * dt
            b.pdt += dt
        if self._eng:
            b.engine += dt
        events = None
        if t - b.t0 >= self._bucket_s:
            events = self._close(t, tdt, lat, lon)
            b = self._bucket
        if gap:
            b.gap = True
        # the sample's own values go to the (possibly new) bucket
        if sp is not None:
            b.ssum += sp
            b.sn += 1
            if sp > b.smax:  # noqa: PLR1730 - an if is faster than max() here
                b.smax = sp
        pw = s.power
        if pw is not None:
            if -1.0e7 < pw < 1.0e7:
                b.psum += pw
                b.pn += 1
            else:
                pw = None
        eng = s.engine_on
        if eng is not None:
            if eng:
                b.eon += 1
                if self._eng_known is not True:
                    self._eng_known = True
                    self._eoff_t = None
            else:
                b.eoff += 1
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
        if self._rejects < self._reject_recovery:
            return False
        # the previous fix was the outlier: take the new position, count no distance for it
        self._rejects = 0
        self._lat = lat
        self._lon = lon
        self._alat = lat
        self._alon = lon
        self._fix_replaced(t, tdt, lat, lon)
        return True

    def _restart(self, s: Sample, t: float, lat: float, lon: float) -> list[Event]:
        """First sample, or the first one after a data gap longer than gap_s."""
        events: list[Event] = []
        if self._has_data:
            self._data_gap(events)
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
        self._lat = self._alat = lat
        self._lon = self._alon = lon
        self._coslat = math.cos(math.radians(lat))
        self._restarted(t, lat, lon)
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
        b = self._bucket = OpenBucket(t, s.time, lat, lon)
        if sp is not None:
            b.ssum = b.smax = sp
            b.sn = 1
        if pw is not None:
            b.psum = pw
            b.pn = 1
        if s.engine_on is not None:
            if s.engine_on:
                b.eon = 1
            else:
                b.eoff = 1
        return events

    def _close_final(self, events: list[Event]) -> None:
        """Close the open bucket when no sample follows (finish, gap, tick)."""
        b = self._bucket
        if b.t0dt is None or b.t0 > self._t:
            return
        events.extend(self._close(self._t + 1.0e-6, self._tdt or b.t0dt, self._lat, self._lon))
        # an empty bucket starting right after the last sample; the next sample opens it properly
        self._bucket.t0 = self._t + 1.0e-6
        self._bucket.t0dt = self._tdt

    # -- buckets ----------------------------------------------------------------------------
    def _close(
        self, t_next: float, tdt_next: datetime, lat_next: float, lon_next: float
    ) -> list[Event]:
        """Close the open bucket (the previous sample is its last fix), open the next one at
        t_next, and run the rules (`_bucket_closed`)."""
        lat = self._lat
        lon = self._lon
        assert self._tdt is not None
        win = self._win
        speed = self._derived_speed(lat, lon) if win and not self._bucket.sn else None
        b = self._bucket.close(
            self._t, self._tdt, lat, lon, speed, self._sp, finite_or_none(self._crs)
        )
        self._bucket = OpenBucket(t_next, tdt_next, lat_next, lon_next)
        self._coslat = math.cos(math.radians(lat))
        win.append(b)
        limit = b.tl - self._window_s
        while len(win) > 2 and win[1].t0 <= limit:
            win.popleft()
        events: list[Event] = []
        self._bucket_closed(b, events)
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
                dx = wrap(lon - old.lon) * self._coslat
                return math.sqrt(dy * dy + dx * dx) * M_PER_DEG / span
        return None

    def _dist_m(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        """Metres between two positions (`trip.local_m` at the latitude of the last bucket)."""
        return local_m(lat1, lon1, lat2, lon2, self._coslat)

    def _window(self, since: float) -> list[Bucket] | None:
        """The buckets from the last one starting at or before `since` (whose position is the one
        held at `since`) to the newest; None when the window reaches back before the data."""
        out: list[Bucket] = []
        for x in reversed(self._win):
            out.append(x)
            if x.t0 <= since:
                out.reverse()
                return out
        return None

"""Fuzz the trip detector (trips/detector.py: ``TripDetector``, ``Sample``).

Checks:

* ``events``: random voyages (legs of any speed, heading, fix interval, engine, power and anchor
  alarm; GPS junk: no fix, (0, 0), 5 km jumps, the clock stepping back, gaps over an hour, missing
  SOG) interleaved with ``tick(now, hold=...)`` as Home Assistant calls it, and now and then a trip
  started or ended by hand. Invariants: nothing raises; per trip the events are well formed
  (``TripStarted`` first and once; no ``StopStarted``, ``StopEnded``, ``TrackPointAdded``,
  ``TripEnded`` or ``TripDiscarded`` of a trip before its ``TripStarted`` or after its end; stops
  alternate; a ``TripEnded`` trip has its end); the ended trips are the closed ones ``finish()``
  returns, in order (``finish()`` may close one more, a paused trip, itself) and were all
  announced; trips are ordered and do not overlap; the snapshot is strict JSON and a detector
  restored from it at any point gives the same events and trips.
* ``bounded``: two days of samples at 1 Hz (trips, stops, anchor swinging, junk) with
  ``collect=False``: what the detector holds stays bounded (window, track, everything reachable).
* ``linear``: pathological streams (a jump every other fix, anchor swinging at the stop
  thresholds, stop-and-go every 11 minutes) of 50,000 and 400,000 samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import itertools
import json
import math
import random
from typing import Any

from hypothesis import example, given, note, strategies as st

from custom_components.victron_venus.trips.detector import (
    KNOT,
    M_PER_DEG,
    Event,
    Sample,
    StopEnded,
    StopStarted,
    TrackPointAdded,
    TripDetector,
    TripDiscarded,
    TripEnded,
    TripStarted,
)
from scripts.fuzzers._common import (
    REPO,
    Check,
    Counter,
    Options,
    linear_check,
    retained,
    run_property,
)

T0 = datetime(2024, 6, 15, 8, 0, tzinfo=UTC)
ORIGIN = (-33.9, 18.4)
FAILURE_FILE = REPO / ".cache" / "fuzz" / "detector-failure.json"
RETAINED_ENTRIES_LIMIT = 100_000


@dataclass(frozen=True)
class Op:
    """One call on the detector: a sample, a tick, or a trip started / ended by hand."""

    kind: str  # "add", "tick", "start", "end"
    t: float  # seconds after T0
    lat: float | None = None
    lon: float | None = None
    speed: float | None = None  # m/s
    power: float | None = None
    engine: bool | None = None
    alarm: bool | None = None
    hold: bool = False

    def apply(self, det: TripDetector) -> list[Event]:
        when = T0 + timedelta(seconds=self.t)
        if self.kind == "add":
            sample = Sample(
                when, self.lat, self.lon, self.speed, self.power, self.engine, self.alarm
            )
            return det.add(sample)
        if self.kind == "tick":
            return det.tick(when, hold=self.hold)
        if self.kind == "start":
            return det.start_trip()
        return det.end_trip()

    def text(self) -> str:
        if self.kind == "add":
            return (
                f"add t0+{self.t:g}s ({self.lat!r}, {self.lon!r}) sog {self.speed!r} m/s"
                f" power {self.power!r} engine {self.engine!r} alarm {self.alarm!r}"
            )
        if self.kind == "tick":
            return f"tick t0+{self.t:g}s hold={self.hold}"
        return f"{self.kind}_trip()"


LEG = st.tuples(
    st.sampled_from([30, 120, 300, 700, 1500, 4000, 5000]),  # seconds
    st.sampled_from([0.0, 0.0, 0.2, 0.5, 1.0, 3.0, 6.0, 12.0]),  # knots
    st.floats(0, 360),  # heading
    st.sampled_from([1, 2, 5, 15, 60, 400]),  # fix interval, s
    st.sampled_from([None, True, False]),  # engine
    st.sampled_from([None, None, True, False]),  # anchor alarm
    st.sampled_from([None, 50.0, 900.0]),  # power, W
    st.sampled_from(["none", "none", "tick", "hold", "start", "end", "gap", "back"]),  # then
)


def voyage(legs: list[tuple[Any, ...]], seed: int) -> list[Op]:
    """The operations of a voyage: samples along the legs with seeded GPS noise and junk."""
    rng = random.Random(seed)
    ops: list[Op] = []
    t = 0.0
    x = y = 0.0
    k_lon = M_PER_DEG * math.cos(math.radians(ORIGIN[0]))
    for seconds, knots, heading, step, engine, alarm, power, then in legs:
        for _ in range(min(300, max(1, seconds // step))):
            t += step
            x += knots * KNOT * step * math.sin(math.radians(heading))
            y += knots * KNOT * step * math.cos(math.radians(heading))
            lat: float | None = ORIGIN[0] + (y + rng.gauss(0, 3)) / M_PER_DEG
            lon: float | None = ORIGIN[1] + (x + rng.gauss(0, 3)) / k_lon
            junk = rng.random()
            when = t
            if junk < 0.01:
                lat, lon = 0.0, 0.0
            elif junk < 0.02:
                lat = lon = None
            elif junk < 0.03:
                lat = (lat or 0.0) + 0.05  # a 5 km jump
            elif junk < 0.035:
                when = t - step * 2  # a fix dated in the past
            speed = None if rng.random() < 0.1 else max(0.0, knots + rng.gauss(0, 0.2)) * KNOT
            ops.append(Op("add", when, lat, lon, speed, power, engine, alarm))
            if rng.random() < 0.02:
                ops.append(Op("tick", t + rng.choice([1, 30, 60]), hold=rng.random() < 0.5))
        if then == "tick":
            ops.append(Op("tick", t + rng.choice([60, 600, 1300]), hold=False))
        elif then == "hold":
            minutes = range(1, rng.choice([5, 15, 40]) + 1)
            ops.extend(Op("tick", t + 60 * minute, hold=True) for minute in minutes)
        elif then in ("start", "end"):
            ops.append(Op(then, t))
        elif then == "gap":
            t += rng.choice([3000, 3700, 7200])
        elif then == "back":  # the clock steps back (NTP after a boot without network)
            t -= rng.choice([60, 300, 1800])
    return ops


# issue 8 §2, reproduction (b): TripEnded for a trip never started (three fixes, then a tick)
ISSUE_8B = [
    Op("add", 1200, -33.90001, 18.40005, 0.0, 900.0, True, False),
    Op("add", 1600, -33.85503, 18.40007, 0.0, 900.0, True, False),  # 5 km north
    Op("add", 2800, -33.90001, 18.40000, 0.0, 900.0, True, False),
    Op("tick", 6800, hold=False),
]


def _kinds_and_ids(events: list[Event]) -> list[tuple[str, str]]:
    return [(type(e).__name__, e.trip.id) for e in events]


REUSED: list[int] = [0]
"""Trips announced under the id of a discarded one (a hand start, end and start within one 10 s
bucket: the new trip starts where the discarded one did). Allowed, counted, reported."""


def check_events(events: list[Event]) -> tuple[list[str], list[str], set[str]]:
    """Per-trip well-formedness; returns (started ids, ended ids, discarded ids) in order.

    A trip is known by its id. Its events: ``TripStarted`` first; then track points and stops
    (``StopStarted`` / ``StopEnded`` alternating, the stop in the trip); then ``TripEnded`` (with
    its end) or ``TripDiscarded``, after which nothing of that trip comes. Only a discarded trip's
    id may be announced again, for a new trip that starts at the same time.
    """
    started: list[str] = []
    ended: list[str] = []
    state: dict[str, str] = {}  # open, stopped, ended, discarded
    for number, e in enumerate(events):
        tid = e.trip.id
        where = f"event {number} {type(e).__name__} of trip {tid}"
        now = state.get(tid)
        if isinstance(e, TripStarted):
            assert now in (None, "discarded"), f"{where}: the trip is already {now}"
            if now == "discarded":
                REUSED[0] += 1
            else:
                started.append(tid)
            state[tid] = "open"
            continue
        assert now is not None, f"{where} before its TripStarted"
        assert now in ("open", "stopped"), f"{where} after the trip was {now}"
        if isinstance(e, StopStarted):
            assert now == "open", f"{where}: already stopped"
            state[tid] = "stopped"
        elif isinstance(e, StopEnded):
            assert now == "stopped", f"{where} without StopStarted"
            assert e.stop in e.trip.stops, f"{where}: the stop is not in the trip"
            state[tid] = "open"
        elif isinstance(e, TripEnded):
            assert e.trip.end is not None, f"{where} without an end"
            ended.append(tid)
            state[tid] = "ended"
        elif isinstance(e, TripDiscarded):
            state[tid] = "discarded"
        else:
            assert isinstance(e, TrackPointAdded), where
    discarded = {tid for tid, now in state.items() if now == "discarded"}
    return started, ended, discarded


def run_ops(ops: list[Op]) -> tuple[list[Event], list[Any]]:
    det = TripDetector()
    events: list[Event] = []
    for op in ops:
        events += op.apply(det)
    return events, det.finish()


def check_voyage(ops: list[Op], cut: int) -> None:
    det = TripDetector()
    events: list[Event] = []
    snapshot_events = 0
    snapshot: dict[str, Any] | None = None
    cut %= len(ops) + 1
    for number, op in enumerate(ops):
        if number == cut:
            snapshot = json.loads(json.dumps(det.snapshot(), allow_nan=False))
            snapshot_events = len(events)
        events += op.apply(det)
    if snapshot is None:
        snapshot = json.loads(json.dumps(det.snapshot(), allow_nan=False))
        snapshot_events = len(events)
    json.dumps(det.snapshot(), allow_nan=False)
    trips = det.finish()

    started, ended, discarded = check_events(events)
    closed = [t.id for t in trips if t.end is not None]
    assert closed[: len(ended)] == ended, f"ended {ended} are not the closed trips {closed}"
    assert len(closed) - len(ended) <= 1, f"closed {closed}, ended by events {ended}"
    assert set(closed) <= set(started), f"closed trips {closed} never announced ({started})"
    assert not set(closed) & discarded, f"discarded trips {discarded} kept in {closed}"
    for a, b in itertools.pairwise(trips):
        assert a.end is not None, f"an open trip {a.id} before another"
        assert a.end <= b.start, f"trips {a.id} and {b.id} overlap"
    for trip in trips:
        assert trip.start <= (trip.end or trip.last_time), f"trip {trip.id} ends before it starts"

    # a detector restored from the snapshot at `cut` carries on exactly alike
    again = TripDetector.restore(snapshot)
    rest: list[Event] = []
    for op in ops[cut:]:
        rest += op.apply(again)
    assert _kinds_and_ids(rest) == _kinds_and_ids(events[snapshot_events:]), "restore: events"
    assert [t.to_dict() for t in again.finish()] == [t.to_dict() for t in trips], "restore: trips"


def _explain(ops: list[Op]) -> None:
    """Note the concrete input (Hypothesis prints notes for the falsifying example only)."""
    FAILURE_FILE.parent.mkdir(parents=True, exist_ok=True)
    FAILURE_FILE.write_text(json.dumps([op.__dict__ for op in ops]), encoding="utf-8")
    try:
        events: object = [
            (kind, tid)
            for kind, tid in _kinds_and_ids(run_ops(ops)[0])
            if kind != "TrackPointAdded"
        ]
    except Exception as err:  # the failure itself may be an exception
        events = repr(err)
    lines = [op.text() for op in ops]
    if len(lines) > 80:
        lines = [*lines[:40], f"... {len(lines) - 80} more ...", *lines[-40:]]
    note(f"t0 = {T0.isoformat()}; {len(ops)} operations (all of them in {FAILURE_FILE}):")
    for line in lines:
        note("  " + line)
    note(f"events (track points left out): {events}")


def _check_events() -> Check:
    counter = Counter()

    @given(
        legs=st.lists(LEG, min_size=1, max_size=10),
        seed=st.integers(0, 2**32),
        cut=st.integers(0, 10_000),
    )
    @example(legs=[], seed=-1, cut=3)  # ISSUE_8B, see below
    def events(legs: list[tuple[Any, ...]], seed: int, cut: int) -> None:
        ops = ISSUE_8B if seed == -1 else voyage(legs, seed)
        try:
            check_voyage(ops, cut)
        except BaseException:
            _explain(ops)
            raise
        counter.tick()

    def run(options: Options) -> tuple[int, str]:
        REUSED[0] = 0
        count, _ = run_property(events, counter, options, 31)
        return count, f"{REUSED[0]} trip ids reused after a discard" if REUSED[0] else ""

    return Check("events", run)


# --- bounded and linear ---------------------------------------------------------------------------


def _day_pattern(n: int, seed: int) -> list[Op]:
    """n samples at 1 Hz: an hour under way, half an hour at anchor (swinging), repeated; junk."""
    rng = random.Random(seed)
    ops = []
    x = y = 0.0
    k_lon = M_PER_DEG * math.cos(math.radians(ORIGIN[0]))
    heading = 0.0
    for i in range(n):
        phase = i % 5400
        if phase < 3600:
            knots = 6.0
            if phase % 600 == 0:
                heading = rng.uniform(0, 360)
            x += knots * KNOT * math.sin(math.radians(heading))
            y += knots * KNOT * math.cos(math.radians(heading))
            swing = 0.0
        else:
            knots = 0.6 * abs(math.sin(phase / 60))  # sheering on the chain
            swing = 30.0
        lat = ORIGIN[0] + (y + swing * math.sin(phase / 90) + rng.gauss(0, 2)) / M_PER_DEG
        lon = ORIGIN[1] + (x + swing * math.cos(phase / 90) + rng.gauss(0, 2)) / k_lon
        if rng.random() < 0.01:
            lat += 0.05
        ops.append(Op("add", float(i), lat, lon, knots * KNOT, 900.0 if knots > 1 else 20.0))
    return ops


def _check_bounded() -> Check:
    def bounded(options: Options) -> tuple[int, str]:
        ops = _day_pattern(2 * 86_400, options.seed)
        det = TripDetector(collect=False)
        peak_window = peak_track = peak_entries = 0
        ended = 0
        window_limit = int(det.config.stop_confined_s / det.config.bucket_s) + 4
        for number, op in enumerate(ops):
            for e in op.apply(det):
                ended += isinstance(e, TripEnded)
            if number % 3600 == 0:
                window = len(det._win)
                track = len(det.trip.track) if det.trip is not None else 0
                _, entries = retained(det)
                peak_window = max(peak_window, window)
                peak_track = max(peak_track, track)
                peak_entries = max(peak_entries, entries)
                assert window <= window_limit, f"window of {window} buckets"
                assert track <= det.config.max_track_points, f"track of {track} points"
                assert entries < RETAINED_ENTRIES_LIMIT, f"the detector holds {entries} entries"
        note = (
            f"{len(ops):,} samples, {ended} trips ended; peak window {peak_window} buckets,"
            f" track {peak_track} points, {peak_entries} entries held"
        )
        return len(ops), note

    return Check("bounded", bounded)


def _jumps(n: int, seed: int) -> list[Op]:
    rng = random.Random(seed)
    return [
        Op("add", float(i), ORIGIN[0] + (0.05 if i % 2 else 0.0) + rng.gauss(0, 1e-5), ORIGIN[1])
        for i in range(n)
    ]


def _stop_and_go(n: int, seed: int) -> list[Op]:
    rng = random.Random(seed)
    ops = []
    y = 0.0
    for i in range(n):
        moving = (i // 660) % 2 == 0
        y += 3.0 if moving else 0.0
        lat = ORIGIN[0] + (y + rng.gauss(0, 2)) / M_PER_DEG
        ops.append(Op("add", float(i), lat, ORIGIN[1], 3.0 if moving else 0.0, 500.0, moving))
    return ops


def _check_linear() -> Check:
    def run_for(make: Any) -> Any:
        def prepare(size: int) -> Any:
            ops = make(size, 7)

            def run() -> None:
                det = TripDetector(collect=False)
                for op in ops:
                    op.apply(det)

            return run

        return prepare

    cases = [
        ("jump every other fix", run_for(_jumps)),
        ("anchor swinging", run_for(lambda n, s: _day_pattern(n, s)[:n])),
        ("stop and go", run_for(_stop_and_go)),
    ]
    return Check("linear", lambda o: linear_check(cases, 50_000, 400_000, unit="samples"))


def checks(options: Options) -> list[Check]:
    """Every detector check, in order."""
    del options
    return [_check_events(), _check_bounded(), _check_linear()]

"""The detector's saved state: `snapshot()` / `restore()` derive from the dataclass fields.

Every field of `TripDetector` (the dataclasses `SamplerState` and `DetectorState`, enumerated with
`dataclasses.fields`, so a field added later is covered too) survives a snapshot, JSON and a
restore, at a value other than its default. A version 1 snapshot, written by the detector before
the state became dataclasses (its fields listed by name in `_SCALAR_STATE`), restores to the same
state and goes on to the same events and trips as an uninterrupted run.

snapshot_v1.json was written by trips/detector.py as of commit 1c6cab3 (the last with version 1
snapshots) after the first 700 samples of `scripted()` with `CONFIG`:
`git show 1c6cab3:custom_components/victron_venus/trips/detector.py > /tmp/old_detector.py`, then
feed it `scripted()` converted to its own `Sample` and `json.dump(det.snapshot(), f, indent=1)`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import MISSING, Field, dataclass, fields, is_dataclass
from datetime import UTC, datetime, timedelta
import json
import math
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, get_args, get_origin, get_type_hints

import pytest

from custom_components.victron_venus.trips.detector import (
    KNOT,
    M_PER_DEG,
    DetectorConfig,
    Event,
    Sample,
    TrackPointAdded,
    TripDetector,
)
from custom_components.victron_venus.trips.sampling import OpenBucket
from custom_components.victron_venus.trips.trip import Bucket, Trip, json_codec

SNAPSHOT_V1 = Path(__file__).with_name("snapshot_v1.json")
T0 = datetime(2024, 7, 1, 6, 0, tzinfo=UTC)
ORIGIN = (60.15, 24.95)
#: Small buckets and windows so the snapshot stays small (its config is saved with it).
CONFIG = DetectorConfig(
    bucket_s=20,
    stop_window_s=300,
    stop_confined_s=300,
    merge_gap_s=600,
    max_track_points=16,
    efficiency_bin_cap=4,
    min_trip_s=120,
    start_hold_s=60,
    engine_start_hold_s=40,
    steady_window_s=60,
)
#: (seconds, knots, heading, engine on, power W, anchor alarm) of each leg, one sample per 5 s.
LEGS = [
    (300, 0.0, 0, False, 30.0, False),  # moored
    (900, 5.0, 90, True, 1030.0, False),  # motoring out: trip 1 (steady: efficiency samples)
    (300, 4.0, 45, False, 30.0, False),  # sailing
    (1000, 0.0, 0, False, 30.0, False),  # at rest: trip 1 stops, then ends
    (800, 5.0, 270, True, 1030.0, False),  # trip 2
    (60, 0.2, 270, False, 30.0, False),  # engine off, drifting
    (240, 0.0, 0, False, 30.0, True),  # anchor alarm: trip 2 paused (the snapshot is taken here)
    (200, 0.0, 0, False, 30.0, False),  # alarm off
    (600, 4.5, 180, True, 800.0, False),  # off again within the merge window: trip 2 resumes
]
SPLIT = 700


def scripted() -> list[Sample]:
    """Deterministic samples (no random numbers) along LEGS, with a sine for GPS wander, three odd
    inputs (no fix, a repeated time, a 55 km jump) and, at the end, a two-hour gap."""
    out: list[Sample] = []
    x = y = 0.0
    k_lon = M_PER_DEG * math.cos(math.radians(ORIGIN[0]))
    t = 0
    for seconds, knots, heading, engine, power, alarm in LEGS:
        for _ in range(seconds // 5):
            step = knots * KNOT * 5
            x += step * math.sin(math.radians(heading))
            y += step * math.cos(math.radians(heading))
            out.append(
                Sample(
                    T0 + timedelta(seconds=t),
                    ORIGIN[0] + (y + 2.0 * math.cos(t / 61.0)) / M_PER_DEG,
                    ORIGIN[1] + (x + 2.0 * math.sin(t / 47.0)) / k_lon,
                    (knots + 0.05 * abs(math.sin(t / 13.0))) * KNOT,
                    power + 5.0 * math.sin(t / 29.0),
                    engine,
                    alarm,
                    float(heading) if knots else None,
                )
            )
            t += 5
    out.insert(10, Sample(out[9].time + timedelta(seconds=1), None, None))
    out.insert(20, Sample(out[19].time, ORIGIN[0], ORIGIN[1]))
    out.insert(30, Sample(out[29].time + timedelta(seconds=1), ORIGIN[0] + 0.5, ORIGIN[1]))
    last = out[-1]
    out.extend(
        Sample(last.time + timedelta(hours=2, seconds=5 * i), last.latitude, last.longitude, 0.0)
        for i in range(6)
    )
    return out


def described(events: list[Event]) -> list[tuple[str, str, list[Any] | None]]:
    """Events as (kind, trip id, track point) for comparison."""
    return [
        (
            type(e).__name__,
            e.trip.id,
            e.point.to_list() if isinstance(e, TrackPointAdded) else None,
        )
        for e in events
    ]


# -------------------------------------------------------------------------------------------
# every field at a value other than its default


def _default(f: Field[Any]) -> Any:
    if f.default_factory is not MISSING:
        return f.default_factory()
    return f.default


def _made(tp: Any) -> Any:
    """A value of type `tp` other than the zero value of its kind (records: every field set)."""
    if tp is bool:
        return True
    if tp is int:
        return 7
    if tp is float:
        return 1.25
    if tp is str:
        return "x"
    if tp is datetime:
        return T0 + timedelta(minutes=7)
    return _other(tp, None)


def _other(tp: Any, value: Any) -> Any:
    """A value of type `tp` different from `value` (which may be None for "none yet")."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is UnionType and NoneType in args:
        inner = args[0] if args[1] is NoneType else args[1]
        return _made(inner) if value is None else _other(inner, value)
    if tp is bool:
        return not value
    if tp in (int, float, str):
        return value + _made(tp)
    if tp is datetime:
        return value + timedelta(minutes=7)
    if origin in (list, deque):
        return origin([*(value or []), _made(args[0])])
    if origin is tuple:
        return tuple(_made(a) for a in args)
    if origin is dict:
        key = max(value or {0: None}) + 1
        return {**(value or {}), key: _made(args[1])}
    hints = get_type_hints(tp)
    if isinstance(tp, type) and is_dataclass(tp):
        values = {}
        for f in fields(tp):
            base = _default(f) if value is None else getattr(value, f.name)
            values[f.name] = (
                _made(hints[f.name]) if base is MISSING else _other(hints[f.name], base)
            )
        return tp(**values)
    if issubclass(tp, tuple):  # a NamedTuple: every field from its zero value
        return tp(*(_made(hints[name]) for name in tp._fields))
    raise TypeError(f"teach this test a value of {tp!r}")


def test_snapshot_restores_every_field_at_a_value_other_than_its_default() -> None:
    """Mid-trip (a paused trip, a trip already ended, odd inputs counted), then every field still
    at its default is given another value; snapshot, JSON, restore: every field is equal."""
    det = TripDetector(CONFIG)
    det.feed(scripted()[:SPLIT])
    assert det.state == "stopped" and len(det._collected) == 1
    hints = get_type_hints(TripDetector)
    natural = set()
    for f in fields(TripDetector):
        value = getattr(det, f.name)
        if value != _default(f):
            natural.add(f.name)
        if value == _default(f) or is_dataclass(value):  # records: every field inside too
            setattr(det, f.name, _other(hints[f.name], value))
    assert {"_trip", "_stop", "_win", "_bucket", "_collected", "_n_jump", "_alarm"} <= natural
    assert [f.name for f in fields(TripDetector) if getattr(det, f.name) == _default(f)] == []

    saved = det.snapshot()
    assert set(saved["state"]) == {f.name for f in fields(TripDetector)}
    again = TripDetector.restore(json.loads(json.dumps(saved, allow_nan=False)))

    for f in fields(TripDetector):
        assert getattr(again, f.name) == getattr(det, f.name), f.name
        assert type(getattr(again, f.name)) is type(getattr(det, f.name)), f.name
    assert again.config == CONFIG
    assert again.snapshot() == saved


def test_records_round_trip_every_field() -> None:
    """Trip (stops, track, efficiency bins inside), a window bucket and the open bucket: every
    field at a value other than its default comes back from JSON equal."""
    for cls in (Trip, Bucket, OpenBucket):
        record = _other(cls, None)
        codec = json_codec(cls)
        assert codec.decode(json.loads(json.dumps(codec.encode(record)))) == record, cls
    trip = _other(Trip, None)
    assert all(getattr(trip, f.name) != _default(f) for f in fields(Trip))
    assert trip.stops and trip.track and trip.efficiency
    assert Trip.from_dict(json.loads(json.dumps(trip.to_dict()))) == trip
    assert set(trip.to_dict()) == {f.name for f in fields(Trip)} | {"summary"}


def test_a_field_without_a_json_form_fails_when_the_codec_is_built() -> None:
    """A new field of a type the codec does not know raises at once, instead of being lost."""

    @dataclass
    class WithASet:
        members: set[int]

    with pytest.raises(TypeError, match="no JSON form"):
        json_codec(WithASet)


# -------------------------------------------------------------------------------------------
# version 1 snapshots


def test_version_1_snapshot_restores_every_field_and_goes_on_the_same() -> None:
    """The snapshot written by the old code: each of its named fields lands in the field of the
    same name (the `_b_*` ones in the open bucket), and the detector continues exactly as one
    that never stopped."""
    samples = scripted()
    old = json.loads(SNAPSHOT_V1.read_text())
    assert old["version"] == 1

    det = TripDetector.restore(old)

    state = old["state"]
    new = det.snapshot()["state"]
    bucket_fields = {f.name for f in fields(OpenBucket)}
    assert {k[3:] for k in state if k.startswith("_b_")} == bucket_fields
    scalars = {k for k in state if not k.startswith("_b_")}
    assert scalars | {"_bucket", "_win", "_trip", "_stop", "_collected"} == set(new)
    for name in scalars:
        assert new[name] == state[name], name
    assert new["_bucket"] == {k[3:]: v for k, v in state.items() if k.startswith("_b_")}
    assert new["_win"] == old["window"]
    for name in ("trip", "stop"):
        assert new[f"_{name}"] == {k: v for k, v in old[name].items() if k != "summary"}
    assert new["_collected"] == [
        {k: v for k, v in t.items() if k != "summary"} for t in old["collected"]
    ]
    assert det.state == "stopped" and det._stop is not None and det._stop.anchored

    ref = TripDetector(CONFIG)  # the new code's own run to the same sample
    ref.feed(samples[:SPLIT])
    assert det.snapshot() == ref.snapshot()
    expected = ref.feed(samples[SPLIT:])
    kinds = {kind for kind, _, _ in described(expected)}
    assert {"StopEnded", "TripEnded", "TrackPointAdded"} <= kinds
    assert described(det.feed(samples[SPLIT:])) == described(expected)
    assert [t.to_dict() for t in det.finish()] == [t.to_dict() for t in ref.finish()]


def test_unknown_snapshot_version_is_refused() -> None:
    """A snapshot from a newer release raises ValueError (the source then starts afresh)."""
    det = TripDetector(CONFIG)
    det.feed(scripted()[:50])
    saved = det.snapshot()
    with pytest.raises(ValueError, match="unsupported detector snapshot version 3"):
        TripDetector.restore({**saved, "version": 3})

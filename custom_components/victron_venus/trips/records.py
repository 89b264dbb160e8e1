"""From detector events to finished logbook records: the open trip's track points and conditions.

Pure (standard library only). The live runtime and the recorder replay both pass every detector
event through a `TripRecorder`; it keeps what a trip needs beyond the detector's own `Trip`:

* the full-resolution track (`TrackPointAdded`, one point per 10 s bucket under way), cut at the
  trip's end when it finishes (points after the arrival belong to the stop);
* the conditions (wind, weather...) when the trip was announced and when the boat arrived (the
  last `StopStarted`; a trip that ends after a data gap takes them at its end).

`handle()` returns what happened (`Outcome`): trips announced, trips finished as `FinishedTrip`
(the detector's trip, its points and conditions), and trips discarded. The recorder's open state
is JSON-safe (`to_dict` / `from_dict`) so a restart in the middle of a trip keeps its points.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .detector import (
    Event,
    StopEnded,
    StopStarted,
    TrackPoint,
    TrackPointAdded,
    Trip,
    TripDiscarded,
    TripEnded,
    TripStarted,
)

type Conditions = dict[str, Any]


@dataclass(slots=True)
class FinishedTrip:
    """A finished trip: the detector's `Trip` (simplified track inside), its full-resolution
    `points` and its `conditions` ({"start": {entity id: record}, "end": {...}})."""

    trip: Trip
    points: list[TrackPoint]
    conditions: dict[str, Conditions] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """`Trip.summary()` plus the conditions: what the trips index and events carry."""
        return {**self.trip.summary(), "conditions": self.conditions}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: what a trip's own track file holds."""
        return {
            "trip": self.trip.to_dict(),
            "points": [p.to_list() for p in self.points],
            "conditions": self.conditions,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinishedTrip:
        """Inverse of `to_dict`."""
        return cls(
            Trip.from_dict(data["trip"]),
            [TrackPoint.from_list(p) for p in data.get("points", [])],
            dict(data.get("conditions") or {}),
        )


@dataclass(slots=True)
class Outcome:
    """What a batch of events did."""

    started: list[Trip] = field(default_factory=list)
    ended: list[FinishedTrip] = field(default_factory=list)
    discarded: list[Trip] = field(default_factory=list)
    points: int = 0
    stops: int = 0

    @property
    def trip_changed(self) -> bool:
        """True when an open trip's state changed (anything but nothing)."""
        return bool(self.started or self.ended or self.discarded or self.points or self.stops)


class TripRecorder:
    """Keeps the open trip's points and conditions; turns events into an `Outcome`.

    `conditions_fn` returns the current conditions (entity id -> small record) when called.
    """

    def __init__(self, conditions_fn: Callable[[], Conditions]) -> None:
        """Start with no open trip."""
        self._conditions_fn = conditions_fn
        self.trip_id: str | None = None
        self.points: list[TrackPoint] = []
        self.start_conditions: Conditions = {}
        self.arrival_conditions: Conditions | None = None

    def _open(self, trip: Trip) -> None:
        if self.trip_id != trip.id:
            self.trip_id = trip.id
            self.points = []
            self.start_conditions = {}
            self.arrival_conditions = None

    def _close(self) -> None:
        self.trip_id = None
        self.points = []
        self.start_conditions = {}
        self.arrival_conditions = None

    def handle(self, events: Iterable[Event]) -> Outcome:
        """Fold a batch of detector events in."""
        out = Outcome()
        for event in events:
            if isinstance(event, TrackPointAdded):
                self._open(event.trip)
                self.points.append(event.point)
                out.points += 1
            elif isinstance(event, TripStarted):
                self._open(event.trip)
                self.start_conditions = self._conditions_fn()
                out.started.append(event.trip)
            elif isinstance(event, StopStarted):
                self._open(event.trip)
                self.arrival_conditions = self._conditions_fn()
                out.stops += 1
            elif isinstance(event, StopEnded):
                self._open(event.trip)
                self.arrival_conditions = None
                out.stops += 1
            elif isinstance(event, TripEnded):
                out.ended.append(self._finish(event.trip))
            elif isinstance(event, TripDiscarded):
                if self.trip_id == event.trip.id:
                    self._close()
                out.discarded.append(event.trip)
        return out

    def _finish(self, trip: Trip) -> FinishedTrip:
        mine = self.trip_id == trip.id
        end = trip.end or trip.last_time
        points = [p for p in self.points if p.time <= end] if mine else []
        if len(points) < 2:
            points = list(trip.track)
        start = self.start_conditions if mine else {}
        arrival = self.arrival_conditions if mine else None
        finished = FinishedTrip(
            trip,
            points,
            {"start": start, "end": arrival if arrival is not None else self._conditions_fn()},
        )
        if mine:
            self._close()
        return finished

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state of the open trip (points included)."""
        return {
            "trip_id": self.trip_id,
            "points": [p.to_list() for p in self.points],
            "start_conditions": self.start_conditions,
            "arrival_conditions": self.arrival_conditions,
        }

    def restore(self, data: dict[str, Any] | None) -> None:
        """Take back what `to_dict` saved (nothing when None)."""
        if not data:
            return
        self.trip_id = data.get("trip_id")
        self.points = [TrackPoint.from_list(p) for p in data.get("points") or []]
        self.start_conditions = dict(data.get("start_conditions") or {})
        arrival = data.get("arrival_conditions")
        self.arrival_conditions = None if arrival is None else dict(arrival)

"""Logbook source: the boat's trips, live from Home Assistant state changes, kept in Stores.

HA state changes → `LogbookFeed` (samples) → `TripDetector` (pure) → `TripRecorder` → trips index,
track files, bus events and the logbook device's entities (DESIGN.md: the logbook is the same
shape as a device source, one level up). Nothing here does I/O on the event loop: Stores write in
the executor, recorder queries and replays run in executors.

Live (see trips/feed.py for the sampling rules):

* `async_track_state_change_event` on the chosen entities; changes of one event-loop turn are
  one sample (`call_soon` flush); a tick every 30 s lets time pass for a boat whose states do not
  change (HA records changes only) and ends trips after a data gap;
* the detector snapshot, the feed's clock and the lifetime totals are saved together with a
  delayed save (30 s), the open trip's points and conditions too (60 s); every pending save is
  also written when Home Assistant stops and when the entry unloads. After a restart (clean or
  not) the detector resumes from its snapshot: a trip that was under way continues from exactly
  the saved state (a restart longer than the data gap, 60 min by default, ends it at its last fix);
* a finished trip: its summary joins the trips index, its track (full-resolution points, the
  simplified track, stops, conditions) goes to its own Store file, its steady-state efficiency
  samples to the efficiency Store, and `victron_venus_trip_ended` is fired.

Events (`EVENT_TRIP_STARTED`, `EVENT_TRIP_ENDED`) carry `device_id`, `entity_id` (the logbook's
navigation state sensor: Home Assistant's Activity panel finds a device's events by its
entities), `entry_id`, `name` (the logbook's title), `trip_id` and the trip's summary
(`Trip.summary()` minus `id`, plus `conditions` at start and end) - never the track (the
recorder caps event data at 32 kB).

Lifetime totals (log, time under way, engine hours, energy) are the finished trips' sums plus
what the detector has settled of the open trip (`TripDetector.settled()`: its figures minus the
last 30 minutes or so, which a stop may still take back), never less than before. They are
computed when the state is saved, written with the detector snapshot they come from, and shown
once that write is on disk: the totals shown are never ahead of the disk, so a kill (SIGKILL, a
power cut) cannot take them back, and after a restart the resumed trip adds from its first new fix
on (the settled figures are a function of the saved detector state). The price: they move in
steps of the 30 s save interval. A finished trip adds its final figures with the next save.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
import logging
import math
from pathlib import Path
from typing import Any, Final

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util, slugify

from ..const import DOMAIN
from ..coordinator import DeviceCoordinator, VictronConfigEntry, write_interval_of
from ..descriptions.logbook import BINARY_SENSORS, IMAGES, SENSORS
from ..trips import EVENT_TRIP_ENDED, EVENT_TRIP_STARTED
from ..trips.detector import (
    NAUTICAL_MILE,
    Event as DetectorEvent,
    TrackPoint,
    Trip,
    TripDetector,
    TripEnded,
)
from ..trips.efficiency import EfficiencyCurve, best_speed, build_curve
from ..trips.export import rows_to_csv, trips_to_gpx
from ..trips.feed import PAIR_WAIT_S, TICK_S, LogbookFeed
from ..trips.records import FinishedTrip, TripRecorder
from ..trips.replay import async_history, csv_rows, replay
from ..trips.settings import LogbookSettings
from ..trips.store import LogbookStore
from ..trips.svg import efficiency_svg
from .base import Source

_LOGGER = logging.getLogger(__name__)


#: the efficiency curve is built from the steady-state samples of this many latest trips
EFFICIENCY_TRIPS: Final = 20
#: at most this many (speed, power) samples are kept per trip
EFFICIENCY_SAMPLES_PER_TRIP: Final = 400
#: the open trip's samples join the curve at most this often (by the trip's own clock: its last
#: fix), so a curve is not rebuilt on every sample
OPEN_TRIP_CURVE_EVERY: Final = timedelta(minutes=1)
#: a rebuild reads this much history before and after its range (trips crossing its edges)
REBUILD_MARGIN: Final = timedelta(hours=6)
#: longest range a rebuild or a CSV export may cover
MAX_RANGE: Final = timedelta(days=31)
MEDIA_FOLDER: Final = DOMAIN

_NAVIGATION = {"motoring": "under_way", "sailing": "under_way"}
_TOTAL_KEYS = ("distance_nm", "underway_h", "engine_hours", "energy_kwh")


def _parse(value: str | None) -> datetime | None:
    return None if value is None else dt_util.parse_datetime(value)


def _read_totals(data: Any) -> dict[str, float]:
    """Saved totals (missing, negative or unreadable values are 0)."""
    out = dict.fromkeys(_TOTAL_KEYS, 0.0)
    if isinstance(data, dict):
        for key in _TOTAL_KEYS:
            value = data.get(key)
            if isinstance(value, int | float) and math.isfinite(value) and value > 0:
                out[key] = float(value)
    return out


def _trip_totals(summary: dict[str, Any]) -> dict[str, float]:
    energy = summary.get("energy_wh")
    return {
        "distance_nm": float(summary.get("distance_nm") or 0.0),
        "underway_h": float(summary.get("underway_s") or 0.0) / 3600.0,
        "engine_hours": float(summary.get("engine_hours") or 0.0),
        "energy_kwh": max(0.0, float(energy)) / 1000.0 if energy else 0.0,
    }


def _thin(samples: list[tuple[float, float]], limit: int) -> list[list[float]]:
    step = max(1, -(-len(samples) // limit))
    return [[v, p] for v, p in samples[::step]]


def track_rows(points: Sequence[TrackPoint]) -> list[dict[str, Any]]:
    """A track for a service response: time (ISO), latitude and longitude (°), speed (kn) and
    course (°) per point."""
    return [
        {
            "time": p.time.isoformat(),
            "latitude": round(p.latitude, 6),
            "longitude": round(p.longitude, 6),
            "speed_kn": None if p.speed is None else round(p.speed * 3600.0 / 1852.0, 2),
            "course": None if p.course is None else round(p.course, 1),
        }
        for p in points
    ]


class LogbookSource(Source):
    """A Logbook entry's runtime. See the module docstring."""

    platforms = (Platform.SENSOR, Platform.BINARY_SENSOR, Platform.IMAGE)

    def __init__(self, hass: HomeAssistant, entry: VictronConfigEntry) -> None:
        """Read the entry's settings; nothing runs before `async_start`."""
        super().__init__(hass, entry)
        self.settings = LogbookSettings.from_entry(entry.data, entry.options)
        self.store = LogbookStore(hass, entry.entry_id, self._on_state_saved)
        self.detector = TripDetector(self.settings.config, collect=False)
        self.feed = LogbookFeed(self.settings, self.detector)
        self.recorder = TripRecorder(self.feed.conditions)
        self.identifier = f"logbook_{entry.entry_id}"
        self.coordinator = DeviceCoordinator(
            hass,
            entry,
            identifier=self.identifier,
            device_info=DeviceInfo(
                identifiers={(DOMAIN, self.identifier)},
                name=entry.title,
                manufacturer="Victron Venus",
                model="Logbook",
                entry_type=DeviceEntryType.SERVICE,
            ),
            write_interval=write_interval_of(entry),
        )
        self.trips: list[dict[str, Any]] = []
        self.efficiency: list[dict[str, Any]] = []
        self.totals: dict[str, float] = dict.fromkeys(_TOTAL_KEYS, 0.0)
        self._base_totals: dict[str, float] = dict.fromkeys(_TOTAL_KEYS, 0.0)
        self.curve: EfficiencyCurve = build_curve(())
        #: (trip id, its last fix, samples its bins have seen) the curve last took the open trip at
        self._open_curve_mark: tuple[str, datetime, int] | None = None
        self.curve_version = 0
        self._svg: bytes | None = None
        self._unsubs: list[CALLBACK_TYPE] = []
        self._flush_handle: asyncio.Handle | None = None
        self._pending_time: datetime | None = None
        self._pair_unsub: CALLBACK_TYPE | None = None
        self._rebuild_lock = asyncio.Lock()
        self._started = False

    @classmethod
    async def async_remove_entry(cls, hass: HomeAssistant, entry: VictronConfigEntry) -> None:
        """The entry is deleted: delete its trips, tracks and state too."""
        await LogbookStore.async_remove_all(hass, entry.entry_id)

    tables = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
        Platform.IMAGE: IMAGES,
    }

    # -- lifecycle -------------------------------------------------------------------------------
    async def async_start(self) -> None:
        """Load the stores, resume the detector, follow the entities, start ticking."""
        loaded = await self.store.async_load()
        snapshot = loaded.state.get("detector")
        if snapshot:
            try:
                self.detector = TripDetector.restore(snapshot, self.settings.config)
            except (KeyError, TypeError, ValueError) as err:
                _LOGGER.warning(
                    "%s: the saved trip state is unreadable (%r)", self.entry.title, err
                )
            else:
                self.feed.detector = self.detector
                self.feed.restore(loaded.state.get("feed") or {})
        self.recorder.restore(loaded.open_track)
        self.totals = _read_totals(loaded.state.get("totals"))
        self.trips = list(loaded.index.get("trips") or [])
        self.efficiency = list(loaded.efficiency.get("trips") or [])
        self._index_changed()
        self._update_curve()
        hass = self.hass
        self.feed.seed({e: hass.states.get(e) for e in self.settings.followed})
        self._unsubs.append(
            async_track_state_change_event(hass, self.settings.followed, self._on_state)
        )
        self._unsubs.append(
            async_track_time_interval(
                hass, self._on_tick, timedelta(seconds=TICK_S), cancel_on_shutdown=True
            )
        )
        self._started = True
        self.async_add_device(self.coordinator)
        self._push()
        if self.detector.trip is not None:
            _LOGGER.info(
                "%s: resuming trip %s (%.2f nm so far)",
                self.entry.title,
                self.detector.trip.id,
                self.detector.trip.distance_nm,
            )

    async def async_stop(self) -> None:
        """Stop following, write everything pending."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()
        if self._pair_unsub is not None:
            self._pair_unsub()
            self._pair_unsub = None
        if self._started:
            self._schedule_saves(points=True)
            await self.store.async_close()
        await super().async_stop()

    # -- live input ------------------------------------------------------------------------------
    @callback
    def _on_state(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if self.feed.apply(event.data["entity_id"], new):
            when = new.last_updated if new is not None else dt_util.utcnow()
            if self._pending_time is None or when > self._pending_time:
                self._pending_time = when
            if self._flush_handle is None:
                self._flush_handle = self.hass.loop.call_soon(self._flush)
        if self.feed.pair_deadline is not None and self._pair_unsub is None:
            self._pair_unsub = async_call_later(self.hass, PAIR_WAIT_S, self._on_pair_timeout)

    @callback
    def _flush(self) -> None:
        self._flush_handle = None
        when, self._pending_time = self._pending_time, None
        if when is not None:
            self._process(self.feed.flush(when))

    @callback
    def _on_pair_timeout(self, _now: datetime) -> None:
        self._pair_unsub = None
        self._process(self.feed.commit_pair(dt_util.utcnow()))

    @callback
    def _on_tick(self, _now: datetime) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()
        self._process(self.feed.tick(dt_util.utcnow()))

    # -- events ----------------------------------------------------------------------------------
    @callback
    def _process(self, events: list[DetectorEvent]) -> None:
        """Fold detector events in: events on the bus, finished trips stored, entities updated."""
        outcome = self.recorder.handle(events)
        for trip in outcome.started:
            _LOGGER.info("%s: trip %s started", self.entry.title, trip.id)
            summary = {
                **trip.summary(),
                "conditions": {"start": self.recorder.start_conditions},
            }
            self._fire(EVENT_TRIP_STARTED, summary)
        for finished in outcome.ended:
            self._finish(finished)
        for trip in outcome.discarded:
            _LOGGER.info("%s: trip %s dropped (below the minimums)", self.entry.title, trip.id)
        self._schedule_saves(points=outcome.trip_changed)
        if self.settings.power:
            self._refresh_open_curve()
        self._push()

    @callback
    def _finish(self, finished: FinishedTrip) -> None:
        summary = finished.summary()
        _LOGGER.info(
            "%s: trip %s ended: %.2f nm", self.entry.title, summary["id"], summary["distance_nm"]
        )
        self._put_trips([finished], remove=())
        self.entry.async_create_task(
            self.hass, self.store.async_save_track(finished), "victron_venus logbook track"
        )
        self._fire(EVENT_TRIP_ENDED, summary)

    @callback
    def _fire(self, event_type: str, summary: dict[str, Any]) -> None:
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, self.identifier), self.entry.entry_id
        )
        data = {k: v for k, v in summary.items() if k != "id"}
        # the Activity panel filtered to a device asks for the device's entities, not its id
        entity_id = er.async_get(self.hass).async_get_entity_id(
            "sensor", DOMAIN, f"{self.identifier}_navigation_state"
        )
        self.hass.bus.async_fire(
            event_type,
            {
                "device_id": device.id if device else None,
                "entity_id": entity_id,
                "entry_id": self.entry.entry_id,
                "name": self.entry.title,
                "trip_id": summary["id"],
                **data,
            },
        )

    @callback
    def _put_trips(self, finished: Sequence[FinishedTrip], remove: Sequence[str]) -> None:
        """Replace trips in the index (and their efficiency samples), then save soon."""
        gone = set(remove) | {f.trip.id for f in finished}
        self.trips = [s for s in self.trips if s["id"] not in gone]
        self.trips.extend(f.summary() for f in finished)
        self.trips.sort(key=lambda s: s["start"])
        self.efficiency = [e for e in self.efficiency if e["id"] not in gone]
        for f in finished:
            samples = f.trip.efficiency_samples
            if samples and f.trip.end is not None:
                self.efficiency.append(
                    {
                        "id": f.trip.id,
                        "end": f.trip.end.isoformat(),
                        "samples": _thin(samples, EFFICIENCY_SAMPLES_PER_TRIP),
                    }
                )
        self.efficiency.sort(key=lambda e: e["end"])
        del self.efficiency[:-EFFICIENCY_TRIPS]
        self._index_changed()
        self._update_curve()
        self.store.schedule_index(lambda: {"trips": self.trips})
        self.store.schedule_efficiency(lambda: {"trips": self.efficiency})
        self.store.schedule_state(self._state_data)  # the totals follow the index

    # -- derived data ------------------------------------------------------------------------------
    def _index_changed(self) -> None:
        base = dict.fromkeys(_TOTAL_KEYS, 0.0)
        for summary in self.trips:
            for key, value in _trip_totals(summary).items():
                base[key] += value
        self._base_totals = base

    def _open_trip(self) -> Trip | None:
        """The open (announced, unfinished) trip, if any."""
        trip = self.detector.trip
        return trip if trip is not None and trip.end is None else None

    def _refresh_open_curve(self) -> None:
        """Rebuild the curve when the open trip has new steady-state samples and its clock moved
        OPEN_TRIP_CURVE_EVERY on since the last rebuild (or when it started or ended)."""
        trip = self._open_trip()
        mark = self._open_curve_mark
        if trip is None:
            if mark is not None:
                self._update_curve()
            return
        seen = sum(b.seen for b in trip.efficiency.values())
        if mark is not None and mark[0] == trip.id:
            if seen == mark[2] or trip.last_time - mark[1] < OPEN_TRIP_CURVE_EVERY:
                return
        elif seen == 0:
            return
        self._update_curve()

    def _update_curve(self) -> None:
        """The curve from the latest finished trips' samples and the open trip's (issue 12: a
        first trip shows its curve while under way)."""
        samples = [(v, p) for e in self.efficiency for v, p in e["samples"]]
        trip = self._open_trip()
        if trip is not None:
            open_samples = trip.efficiency_samples
            samples.extend((v, p) for v, p in _thin(open_samples, EFFICIENCY_SAMPLES_PER_TRIP))
            seen = sum(b.seen for b in trip.efficiency.values())
            self._open_curve_mark = (trip.id, trip.last_time, seen)
        else:
            self._open_curve_mark = None
        s = self.settings
        if s.battery_power:
            curve = build_curve(
                samples, house_load_w=s.house_load_w or None, fit_max_kn=s.fit_max_kn
            )
        else:
            curve = build_curve(samples, house_load_w=0.0, fit_max_kn=s.fit_max_kn)
            if s.house_load_w > 0:
                curve = replace(
                    curve,
                    house_load_w=s.house_load_w,
                    best_speed_kn=best_speed(curve.a, s.house_load_w),
                )
        self.curve = curve
        self.curve_version += 1
        self._svg = None

    def svg(self) -> bytes:
        """The efficiency curve as SVG (rendered once per curve)."""
        if self._svg is None:
            offset = self.curve.house_load_w if self.settings.battery_power else 0.0
            self._svg = efficiency_svg(
                self.curve, model_offset_w=offset, title=f"{self.entry.title}: power vs speed"
            )
        return self._svg

    def _open_trip_totals(self) -> dict[str, float]:
        """What the totals may count of the open trip: the detector's settled figures."""
        settled = self.detector.settled()
        if settled is None:
            return {}
        energy_wh = settled.energy_j / 3600.0 if settled.power_s > 0 else 0.0
        return {
            "distance_nm": settled.distance_m / NAUTICAL_MILE,
            "underway_h": settled.underway_s / 3600.0,
            "engine_hours": settled.engine_s / 3600.0,
            "energy_kwh": max(0.0, energy_wh) / 1000.0,
        }

    def _current_totals(self) -> dict[str, float]:
        """The totals now: finished trips plus the open trip's settled part, never below the
        totals already shown."""
        current = self._open_trip_totals()
        return {
            key: max(self.totals[key], self._base_totals[key] + current.get(key, 0.0))
            for key in _TOTAL_KEYS
        }

    @callback
    def _on_state_saved(self, data: dict[str, Any]) -> None:
        """A state write is on disk: its totals may be shown now."""
        saved = _read_totals(data.get("totals"))
        if any(saved[key] > self.totals[key] for key in _TOTAL_KEYS):
            self.totals = {key: max(saved[key], self.totals[key]) for key in _TOTAL_KEYS}
            if self._started:
                self._push()

    def data(self) -> dict[str, Any]:
        """The logbook device's data (descriptions/logbook.py lists the keys)."""
        s = self.settings
        detector = self.detector
        nav = detector.navigation_state
        trip = detector.trip
        data: dict[str, Any] = {
            "navigation_state": None if nav is None else _NAVIGATION.get(nav, nav),
            "navigation_attributes": {
                "propulsion": nav if nav in _NAVIGATION else None,
                "trip_id": None if trip is None else trip.id,
            },
            "moving": None if nav is None else detector.state == "underway",
            "trip_distance": None if trip is None else round(trip.distance_nm, 3),
            "trip_duration": None if trip is None else round(trip.duration_s / 3600.0, 4),
            "trip_average_speed": None if trip is None else round(trip.avg_speed_kn, 2),
        }
        if s.power:
            energy = None if trip is None else trip.energy_wh
            per_nm = None if trip is None else trip.wh_per_nm
            data["trip_energy"] = None if energy is None else round(energy, 1)
            data["trip_wh_per_nm"] = None if per_nm is None else round(per_nm, 1)
        last = max(self.trips, key=lambda t: t["end"] or "", default=None)
        data["last_trip"] = None if last is None else _parse(last["end"])
        data["last_trip_attributes"] = None if last is None else {**last, "trips": len(self.trips)}
        totals = self.totals
        data["total_distance"] = round(totals["distance_nm"], 3)
        data["total_underway"] = round(totals["underway_h"], 3)
        if s.has_engine:
            data["total_engine_hours"] = round(totals["engine_hours"], 3)
        if s.power:
            data["total_energy"] = round(totals["energy_kwh"], 3)
            data["efficiency_version"] = self.curve_version
            data["efficiency_svg"] = self.svg
            data["efficiency_attributes"] = self.curve.attributes()
        return data

    @callback
    def _push(self) -> None:
        self.coordinator.async_push(self.data())

    def _state_data(self) -> dict[str, Any]:
        """What the state Store writes: the detector, the feed's clock and the totals that go
        with them (shown once written, see `_on_state_saved`)."""
        return {
            "detector": self.detector.snapshot(),
            "feed": self.feed.to_dict(),
            "totals": self._current_totals(),
        }

    @callback
    def _schedule_saves(self, points: bool) -> None:
        self.store.schedule_state(self._state_data)
        if points:
            self.store.schedule_open_track(self.recorder.to_dict)

    # -- services --------------------------------------------------------------------------------
    def open_summary(self) -> dict[str, Any] | None:
        """The open trip's summary (with `"open": True`), None without one."""
        trip = self.detector.trip
        if trip is None:
            return None
        return {
            **trip.summary(),
            "conditions": {"start": self.recorder.start_conditions},
            "open": True,
        }

    def trips_between(self, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        """Summaries of the trips that start in [start, end) (open bounds when None), the open
        trip last."""
        out = []
        for summary in [*self.trips, self.open_summary()]:
            if summary is None:
                continue
            when = _parse(summary["start"])
            assert when is not None
            if (start is None or when >= start) and (end is None or when < end):
                out.append(summary)
        return out

    async def async_finished(self, trip_id: str) -> FinishedTrip:
        """A trip with its points: the open one, or one from its track file.

        Raises ServiceValidationError(trip_not_found).
        """
        trip = self.detector.trip
        if trip is not None and trip.id == trip_id:
            points = [p for p in self.recorder.points if self.recorder.trip_id == trip.id]
            return FinishedTrip(
                Trip.from_dict(trip.to_dict()),
                points or list(trip.track),
                {"start": self.recorder.start_conditions},
            )
        if any(s["id"] == trip_id for s in self.trips):
            finished = await self.store.async_load_track(trip_id)
            if finished is not None:
                return finished
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="trip_not_found",
            translation_placeholders={"trip_id": trip_id},
        )

    async def async_get_trip(self, trip_id: str | None) -> dict[str, Any]:
        """Summary, stops and simplified track of a trip (default: the open or the last one)."""
        if trip_id is None:
            latest = self.trips_between(None, None)
            if not latest:
                raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_trips")
            trip_id = str(latest[-1]["id"])
        finished = await self.async_finished(trip_id)
        trip = finished.trip
        summary = finished.summary() | ({"open": True} if trip.end is None else {})
        return {
            "trip": summary,
            "stops": [s.to_dict() for s in trip.stops],
            "track": track_rows(trip.track),
        }

    @callback
    def start_trip(self) -> dict[str, Any]:
        """Start a trip by hand now (or resume a paused one): {"trip": its summary}.

        Raises ServiceValidationError(no_position) before the first position.
        """
        self._flush_pending()
        events = self.feed.tick(dt_util.utcnow())  # brings the detector up to now
        events += self.detector.start_trip()
        self._process(events)
        summary = self.open_summary()
        if summary is None:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_position")
        return {"trip": summary}

    @callback
    def end_trip(self) -> dict[str, Any]:
        """End the open trip by hand: {"trip": its summary, or None when it was dropped for
        being below the minimums}. Raises ServiceValidationError(no_open_trip) at rest."""
        self._flush_pending()
        if self.detector.state == "at_rest":
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_open_trip")
        events = self.detector.end_trip()
        ended = [e.trip.id for e in events if isinstance(e, TripEnded)]
        self._process(events)
        summary = next((s for s in self.trips if ended and s["id"] == ended[-1]), None)
        return {"trip": summary}

    @callback
    def _flush_pending(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()

    def _require_recorder(self) -> None:
        if "recorder" not in self.hass.config.components:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="recorder_needed"
            )

    async def async_rebuild(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Find the trips that start in [start, end) again from recorder history (idempotent).

        The trips of the range are replaced by what the same feed and detector find in the
        recorded states (read from 6 h before to 6 h after the range, so trips crossing its
        edges are whole). The live open trip and trips overlapping it are left alone.
        Raises ServiceValidationError(recorder_needed) without the recorder.
        """
        self._require_recorder()
        async with self._rebuild_lock:
            now = dt_util.utcnow()
            end = min(end, now)
            read_from = start - REBUILD_MARGIN
            read_to = min(end + REBUILD_MARGIN, now)
            history = await async_history(self.hass, self.settings.followed, read_from, read_to)
            result = await self.hass.async_add_executor_job(
                replay, self.settings, history, read_from, read_to
            )
            live = self.detector.trip
            live_start = None if live is None else live.start

            def keep(trip: Trip) -> bool:
                if trip.end is None or not start <= trip.start < end:
                    return False
                return live_start is None or trip.end < live_start

            found = [f for f in result.finished if keep(f.trip)]
            old = []
            for s in self.trips:
                when = _parse(s["start"])
                assert when is not None
                if start <= when < end:
                    old.append(str(s["id"]))
            self._put_trips(found, remove=old)
            new_ids = {f.trip.id for f in found}
            for trip_id in old:
                if trip_id not in new_ids:
                    await self.store.async_remove_track(trip_id)
            for finished in found:
                await self.store.async_save_track(finished)
            self._push()
            _LOGGER.info(
                "%s: rebuilt %s - %s from %d samples: %d trips (replacing %d)",
                self.entry.title,
                start,
                end,
                result.samples,
                len(found),
                len(old),
            )
            return {
                "removed": len(old),
                "added": len(found),
                "samples": result.samples,
                "trips": [f.summary() for f in found],
            }

    async def async_export(
        self,
        fmt: str,
        *,
        trip_id: str | None,
        start: datetime | None,
        end: datetime | None,
        power_entities: Sequence[str] | None,
        include_content: bool,
    ) -> dict[str, Any]:
        """Write a trip or the trips of a range as GPX 1.1, or their samples as CSV, to the media
        folder (media-source://media_source/local/victron_venus/...). Returns the path, the
        media content id, the size and, when asked, the text itself.

        Raises ServiceValidationError: trip_not_found, nothing_to_export, recorder_needed (CSV).
        """
        if trip_id is not None:
            finished = [await self.async_finished(trip_id)]
            trip = finished[0].trip
            start, end = trip.start, trip.end or trip.last_time
            label = trip_id
        else:
            assert start is not None and end is not None
            ids = [str(s["id"]) for s in self.trips_between(start, end)]
            finished = [await self.async_finished(i) for i in ids]
            label = f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}"
        if fmt == "gpx":
            if not finished:
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key="nothing_to_export"
                )
            text = trips_to_gpx(
                [f.trip for f in finished], tracks={f.trip.id: f.points for f in finished}
            )
            count = len(finished)
        else:
            self._require_recorder()
            s = self.settings
            chosen = list(power_entities) if power_entities is not None else []
            if power_entities is None and s.power:
                chosen = [s.power]
            columns = {entity_id: entity_id for entity_id in dict.fromkeys(chosen)}
            wanted = [
                *s.position_entities,
                *(e for e in (s.speed, s.soc, s.current, s.voltage) if e),
                *columns.values(),
            ]
            # the recorder's range excludes states stamped exactly at its start: read from 1 s
            # earlier (csv_rows only seeds with what comes before `start`)
            history = await async_history(self.hass, wanted, start - timedelta(seconds=1), end)
            rows = await self.hass.async_add_executor_job(
                lambda: list(csv_rows(s, history, start, end, columns))
            )
            if not rows:
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key="nothing_to_export"
                )
            text = rows_to_csv(rows, power_columns=list(columns))
            count = len(rows)
        filename = f"{slugify(self.entry.title)}_{label}.{fmt}"
        folder = Path(self.hass.config.media_dirs.get("local") or self.hass.config.path("media"))
        path = folder / MEDIA_FOLDER / filename
        await self.hass.async_add_executor_job(_write, path, text)
        response: dict[str, Any] = {
            "path": str(path),
            "media_content_id": f"media-source://media_source/local/{MEDIA_FOLDER}/{filename}",
            "format": fmt,
            "items": count,
            "size": len(text.encode()),
        }
        if include_content:
            response["content"] = text
        return response

    def efficiency_response(self) -> dict[str, Any]:
        """The full efficiency curve (bins, fit, v*) and the trips it comes from (the open trip
        last, while its samples are in the curve)."""
        trips = [e["id"] for e in self.efficiency]
        if self._open_curve_mark is not None:  # the open trip's samples are in the curve
            trips.append(self._open_curve_mark[0])
        return {
            **self.curve.to_dict(),
            "trips": trips,
            "house_load_option_w": self.settings.house_load_w,
        }

    def diagnostics(self) -> dict[str, Any]:
        """State of the logbook for a bug report (no positions)."""
        trip = self.detector.trip
        return {
            "settings": {
                "tracker": self.settings.tracker,
                "entities": list(self.settings.followed),
                "power_kind": self.settings.power_kind,
                "config": self.settings.config.to_dict(),
            },
            "detector": {
                "state": self.detector.state,
                "navigation_state": self.detector.navigation_state,
                "stats": self.detector.stats,
            },
            "feed": {
                "samples": self.feed.samples,
                "position_available": self.feed.position_available(),
            },
            "open_trip": None
            if trip is None
            else {
                k: v
                for k, v in trip.summary().items()
                if not k.endswith(("_latitude", "_longitude"))
            },
            "trips": len(self.trips),
            "totals": dict(self.totals),
            "efficiency": self.curve.attributes(),
        }


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")

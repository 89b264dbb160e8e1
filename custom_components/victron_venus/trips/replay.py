"""Recorder history through the same feed and detector as live data; CSV rows from history.

`async_history` reads the states of some entities between two times from Home Assistant's
recorder (`history.get_significant_states` with every change, attributes included) in the
recorder's executor, never on the event loop. `replay` runs them through a fresh
`LogbookFeed` + `TripDetector` + `TripRecorder` exactly as the live runtime does (changes
grouped by timestamp, a tick every `TICK_S` of recorded time, latitude/longitude pairs committed
after `PAIR_WAIT_S`), so the trips it finds are the ones live detection finds.

`csv_rows` turns the same history into the export's rows: one row per moment any of the chosen
entities changed, every column holding its latest value (zero-order hold), in SI units.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from itertools import groupby
from typing import Any

from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    PERCENTAGE,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.util.unit_conversion import (
    ElectricCurrentConverter,
    ElectricPotentialConverter,
)

from .detector import Trip, TripDetector
from .feed import TICK_S, LogbookFeed, number, power_w, speed_ms
from .records import FinishedTrip, TripRecorder
from .settings import LogbookSettings


async def async_history(
    hass: HomeAssistant, entity_ids: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[State]]:
    """Every recorded state of `entity_ids` in [start, end], plus each one's state at `start`.

    Raises KeyError when the recorder is not set up (callers check `"recorder" in
    hass.config.components` first).
    """
    from homeassistant.components.recorder import history
    from homeassistant.helpers.recorder import get_instance

    result = await get_instance(hass).async_add_executor_job(
        partial(
            history.get_significant_states,
            hass,
            start,
            end,
            list(dict.fromkeys(entity_ids)),
            include_start_time_state=True,
            significant_changes_only=False,
            minimal_response=False,
            no_attributes=False,
        )
    )
    return {
        entity_id: [s for s in states if isinstance(s, State)]
        for entity_id, states in result.items()
    }


def _changes(history: Mapping[str, Sequence[State]]) -> list[tuple[datetime, str, State]]:
    rows = [(s.last_updated, entity_id, s) for entity_id, states in history.items() for s in states]
    rows.sort(key=lambda row: row[0])
    return rows


@dataclass(slots=True)
class ReplayResult:
    """Trips a replay found: `finished` ones and the trip still `open` at the end (if any)."""

    finished: list[FinishedTrip] = field(default_factory=list)
    open: Trip | None = None
    samples: int = 0


def replay(
    settings: LogbookSettings,
    history: Mapping[str, Sequence[State]],
    start: datetime,
    until: datetime,
) -> ReplayResult:
    """Run recorded states from `start` to `until` through a fresh feed and detector.

    States recorded at or before `start` only seed the feed. Ticks run every TICK_S from `start`
    up to `until` (pass the end of the history, or now), so stops and data gaps at the end of
    the data are decided as live.
    """
    detector = TripDetector(settings.config, collect=False)
    feed = LogbookFeed(settings, detector)
    recorder = TripRecorder(feed.conditions)
    result = ReplayResult()
    changes = _changes(history)
    seed = {entity_id: state for when, entity_id, state in changes if when <= start}
    feed.seed(seed)
    next_tick = start + timedelta(seconds=TICK_S)

    def run_until(limit: datetime, inclusive: bool) -> None:
        nonlocal next_tick
        while True:
            deadline = feed.pair_deadline
            when = next_tick if deadline is None else min(next_tick, deadline)
            if when > limit or (when == limit and not inclusive):
                return
            if deadline is not None and when == deadline:
                events = feed.commit_pair(when)
            else:
                events = feed.tick(when)
                next_tick += timedelta(seconds=TICK_S)
            result.finished.extend(recorder.handle(events).ended)

    for when, group in groupby((c for c in changes if c[0] > start), key=lambda c: c[0]):
        if when > until:
            break
        run_until(when, inclusive=False)
        relevant = False
        for _, entity_id, state in group:
            relevant = feed.apply(entity_id, state) or relevant
        if relevant:
            result.finished.extend(recorder.handle(feed.flush(when)).ended)
    run_until(until, inclusive=True)
    result.open = detector.trip
    result.samples = feed.samples
    return result


# -- CSV ------------------------------------------------------------------------------------------


def _soc(state: State) -> float | None:
    value = number(state)
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    return value if unit in (None, PERCENTAGE) else None


def _current(state: State) -> float | None:
    value = number(state)
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or UnitOfElectricCurrent.AMPERE
    if value is None or unit not in ElectricCurrentConverter.VALID_UNITS:
        return None
    return float(ElectricCurrentConverter.convert(value, unit, UnitOfElectricCurrent.AMPERE))


def _voltage(state: State) -> float | None:
    value = number(state)
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or UnitOfElectricPotential.VOLT
    if value is None or unit not in ElectricPotentialConverter.VALID_UNITS:
        return None
    return float(ElectricPotentialConverter.convert(value, unit, UnitOfElectricPotential.VOLT))


def csv_rows(
    settings: LogbookSettings,
    history: Mapping[str, Sequence[State]],
    start: datetime,
    end: datetime,
    power_columns: Mapping[str, str],
) -> Iterator[dict[str, Any]]:
    """Rows for `export.rows_to_csv`: timestamp, soc (%), current (A), voltage (V), gps_lat,
    gps_lon (°), gps_speed (m/s) and each `power_columns` column (column name -> entity id, W).

    One row per moment in [start, end] at which any of these entities changed; a column keeps
    its last value until it changes (empty before the first, and while unavailable).
    """
    feed = LogbookFeed(settings, TripDetector(settings.config, collect=False))
    columns: dict[str, tuple[str, Any]] = {}
    for column, entity_id, getter in (
        ("soc", settings.soc, _soc),
        ("current", settings.current, _current),
        ("voltage", settings.voltage, _voltage),
        ("gps_speed", settings.speed, speed_ms),
    ):
        if entity_id:
            columns.setdefault(entity_id, (column, getter))
    power_of = {entity_id: column for column, entity_id in power_columns.items()}
    row: dict[str, Any] = {}
    for when, group in groupby(_changes(history), key=lambda c: c[0]):
        if when > end:
            break
        for _, entity_id, state in group:
            if entity_id in settings.position_entities:
                feed.apply(entity_id, state)
                position = feed.position
                row["gps_lat"], row["gps_lon"] = position if position else (None, None)
            if entity_id in columns:
                column, getter = columns[entity_id]
                row[column] = getter(state)
            if entity_id in power_of:
                row[power_of[entity_id]] = power_w(state)
        if when >= start:
            yield {"timestamp": max(when, start), **row}

"""Service actions of the logbook, registered once in `async_setup` (action-setup rule).

Every action addresses a Logbook entry with `config_entry_id` (optional while there is exactly
one) and raises `ServiceValidationError` (translated, `exceptions` in strings.json) on bad input:
an unknown or unloaded logbook, an unknown trip, a range that is empty, reversed or too long, or a
CSV export / rebuild without the recorder.

* get_trips (response only): trip summaries starting in [start, end), the open trip last, and
  the lifetime totals;
* get_trip (response only): one trip (default: the latest): summary, stops, simplified track;
* export_trips (response optional): a trip or the trips of a range as GPX 1.1 or CSV, written to
  the media folder;
* start_trip / end_trip (response optional): start (resume) or end the trip by hand;
* rebuild_trips (response optional): the trips of a range found again from recorder history
  (idempotent);
* get_efficiency (response only): the full efficiency curve (bins, a, house load, v*).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import probatio

from .const import DOMAIN, EntryType, entry_type

if TYPE_CHECKING:
    from .sources.logbook import LogbookSource

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_TRIP_ID: Final = "trip_id"
ATTR_FORMAT: Final = "format"
ATTR_POWER_ENTITIES: Final = "power_entities"
ATTR_INCLUDE_CONTENT: Final = "include_content"

SERVICE_GET_TRIPS: Final = "get_trips"
SERVICE_GET_TRIP: Final = "get_trip"
SERVICE_EXPORT_TRIPS: Final = "export_trips"
SERVICE_START_TRIP: Final = "start_trip"
SERVICE_END_TRIP: Final = "end_trip"
SERVICE_REBUILD_TRIPS: Final = "rebuild_trips"
SERVICE_GET_EFFICIENCY: Final = "get_efficiency"

FORMATS: Final = ("gpx", "csv")
MAX_DAYS: Final = 31

_ENTRY = {probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
_RANGE = {probatio.Optional(ATTR_START): cv.datetime, probatio.Optional(ATTR_END): cv.datetime}

SCHEMAS: Final[dict[str, probatio.Schema]] = {
    SERVICE_GET_TRIPS: probatio.Schema({**_ENTRY, **_RANGE}),
    SERVICE_GET_TRIP: probatio.Schema({**_ENTRY, probatio.Optional(ATTR_TRIP_ID): cv.string}),
    SERVICE_EXPORT_TRIPS: probatio.Schema(
        {
            **_ENTRY,
            **_RANGE,
            probatio.Optional(ATTR_FORMAT, default="gpx"): probatio.In(FORMATS),
            probatio.Optional(ATTR_TRIP_ID): cv.string,
            probatio.Optional(ATTR_POWER_ENTITIES): cv.entity_ids,
            probatio.Optional(ATTR_INCLUDE_CONTENT, default=False): cv.boolean,
        }
    ),
    SERVICE_START_TRIP: probatio.Schema(_ENTRY),
    SERVICE_END_TRIP: probatio.Schema(_ENTRY),
    SERVICE_REBUILD_TRIPS: probatio.Schema(
        {
            **_ENTRY,
            probatio.Required(ATTR_START): cv.datetime,
            probatio.Required(ATTR_END): cv.datetime,
        }
    ),
    SERVICE_GET_EFFICIENCY: probatio.Schema(_ENTRY),
}


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def logbook_source(hass: HomeAssistant, call: ServiceCall) -> LogbookSource:
    """The running Logbook source a call addresses. Raises ServiceValidationError."""
    logbooks = [
        e for e in hass.config_entries.async_entries(DOMAIN) if entry_type(e) is EntryType.LOGBOOK
    ]
    entry_id = call.data.get(ATTR_CONFIG_ENTRY_ID)
    if entry_id:
        entry = next((e for e in logbooks if e.entry_id == entry_id), None)
        if entry is None:
            raise _error("not_a_logbook", entry_id=str(entry_id))
    elif len(logbooks) == 1:
        entry = logbooks[0]
    else:
        raise _error("choose_logbook", count=str(len(logbooks)))
    if entry.state is not ConfigEntryState.LOADED:
        raise _error("logbook_not_loaded", name=entry.title)
    source: LogbookSource = entry.runtime_data
    return source


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else dt_util.as_utc(value)


def _range(call: ServiceCall, *, required: bool, limit: bool) -> tuple[datetime, datetime] | None:
    """(start, end) in UTC from the call, None when neither is given (and not required)."""
    start = _utc(call.data.get(ATTR_START))
    end = _utc(call.data.get(ATTR_END))
    if start is None and end is None and not required:
        return None
    if start is None or end is None:
        raise _error("range_incomplete")
    if start >= end:
        raise _error("bad_range")
    if limit and (end - start).days > MAX_DAYS:
        raise _error("range_too_long", days=str(MAX_DAYS))
    return start, end


async def _get_trips(call: ServiceCall) -> ServiceResponse:
    source = logbook_source(call.hass, call)
    start = _utc(call.data.get(ATTR_START))
    end = _utc(call.data.get(ATTR_END))
    if start is not None and end is not None and start >= end:
        raise _error("bad_range")
    trips: list[Any] = source.trips_between(start, end)
    return {"trips": trips, "count": len(trips), "totals": dict(source.totals)}


async def _get_trip(call: ServiceCall) -> ServiceResponse:
    source = logbook_source(call.hass, call)
    return await source.async_get_trip(call.data.get(ATTR_TRIP_ID))


async def _export_trips(call: ServiceCall) -> ServiceResponse:
    source = logbook_source(call.hass, call)
    fmt = call.data[ATTR_FORMAT]
    trip_id = call.data.get(ATTR_TRIP_ID)
    span = _range(call, required=trip_id is None, limit=fmt == "csv")
    if trip_id is not None and span is not None:
        raise _error("trip_or_range")
    start, end = span if span is not None else (None, None)
    return await source.async_export(
        fmt,
        trip_id=trip_id,
        start=start,
        end=end,
        power_entities=call.data.get(ATTR_POWER_ENTITIES),
        include_content=call.data[ATTR_INCLUDE_CONTENT],
    )


async def _start_trip(call: ServiceCall) -> ServiceResponse:
    return logbook_source(call.hass, call).start_trip()


async def _end_trip(call: ServiceCall) -> ServiceResponse:
    return logbook_source(call.hass, call).end_trip()


async def _rebuild_trips(call: ServiceCall) -> ServiceResponse:
    source = logbook_source(call.hass, call)
    span = _range(call, required=True, limit=True)
    assert span is not None
    return await source.async_rebuild(*span)


async def _get_efficiency(call: ServiceCall) -> ServiceResponse:
    return logbook_source(call.hass, call).efficiency_response()


HANDLERS: Final = {
    SERVICE_GET_TRIPS: (_get_trips, SupportsResponse.ONLY),
    SERVICE_GET_TRIP: (_get_trip, SupportsResponse.ONLY),
    SERVICE_EXPORT_TRIPS: (_export_trips, SupportsResponse.OPTIONAL),
    SERVICE_START_TRIP: (_start_trip, SupportsResponse.OPTIONAL),
    SERVICE_END_TRIP: (_end_trip, SupportsResponse.OPTIONAL),
    SERVICE_REBUILD_TRIPS: (_rebuild_trips, SupportsResponse.OPTIONAL),
    SERVICE_GET_EFFICIENCY: (_get_efficiency, SupportsResponse.ONLY),
}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the logbook's actions (once, from async_setup)."""
    for name, (handler, response) in HANDLERS.items():
        hass.services.async_register(
            DOMAIN, name, handler, schema=SCHEMAS[name], supports_response=response
        )

"""Home Assistant's logbook platform: describes the `victron_venus_trip_started` /
`victron_venus_trip_ended` events (`async_describe_events`).

The trips feature itself (detector, trips, efficiency, export, stores) is the trips/ package; this
module only tells Home Assistant's logbook how to word its events. Everything Home Assistant is
imported inside `async_describe_events`, so importing this module has no side effects beyond the
deprecated alias below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import sys
from typing import TYPE_CHECKING, Any

from .trips import EVENT_TRIP_ENDED, EVENT_TRIP_STARTED, detector as _detector

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

__all__ = ["EVENT_TRIP_ENDED", "EVENT_TRIP_STARTED", "async_describe_events", "describe_trip_event"]

# Deprecated, for one release: the trips package was called logbook/ and outside code imports
# `custom_components.victron_venus.logbook.detector`. A module cannot have submodules, so the old
# name is registered as an alias of trips.detector (the same module object, not a copy). Remove
# this alias in the release after the rename; import `...trips.detector` instead.
sys.modules.setdefault(f"{__name__}.detector", _detector)
detector = _detector


def describe_trip_event(event_type: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """(name, message) of a trip event for Home Assistant's logbook, plain English.

    e.g. ("Aurora", "ended a trip: 18.74 nm in 4.12 h, avg 4.5 kn, 1 stop, 95 Wh/nm").
    """
    name = str(data.get("name") or "Logbook")
    if event_type == EVENT_TRIP_STARTED:
        return name, "started a trip"
    parts = [f"{float(data.get('distance_nm') or 0.0):.2f} nm"]
    duration = data.get("duration_s")
    if duration is not None:
        parts[0] += f" in {float(duration) / 3600.0:.2f} h"
    if data.get("avg_speed_kn") is not None:
        parts.append(f"avg {float(data['avg_speed_kn']):.1f} kn")
    stops = int(data.get("stops") or 0)
    if stops:
        parts.append(f"{stops} stop" + ("s" if stops > 1 else ""))
    if data.get("engine_hours"):
        parts.append(f"engine {float(data['engine_hours']):.1f} h")
    if data.get("wh_per_nm") is not None:
        parts.append(f"{float(data['wh_per_nm']):.0f} Wh/nm")
    return name, "ended a trip: " + ", ".join(parts)


def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Any], dict[str, str]]], None],
) -> None:
    """Home Assistant's logbook platform: describe the trip events."""
    from homeassistant.components.logbook.const import (
        LOGBOOK_ENTRY_ENTITY_ID,
        LOGBOOK_ENTRY_MESSAGE,
        LOGBOOK_ENTRY_NAME,
    )
    from homeassistant.core import callback

    @callback
    def describe(event: Any) -> dict[str, str]:
        """Name and message; the logbook's navigation state entity when the event names it
        (the Activity panel links the entry to it and finds it through the device's entities)."""
        name, message = describe_trip_event(event.event_type, event.data)
        described = {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}
        entity_id = event.data.get("entity_id")
        if isinstance(entity_id, str):
            described[LOGBOOK_ENTRY_ENTITY_ID] = entity_id
        return described

    async_describe_event("victron_venus", EVENT_TRIP_STARTED, describe)
    async_describe_event("victron_venus", EVENT_TRIP_ENDED, describe)

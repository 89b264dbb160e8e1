"""The automatic boat logbook: trip detection, efficiency curve and GPX/CSV export.

`detector` and `efficiency` are pure (standard library only, no I/O, no Home Assistant); `export`
builds GPX and CSV text; `settings`, `records` and `svg` are pure too. The Home Assistant glue lives
in `feed`, `replay` and `store` here, and in sources/logbook.py.

This package is also the integration's `logbook` platform for Home Assistant's logbook: it
describes the `victron_venus_trip_started` / `victron_venus_trip_ended` events
(`async_describe_events`). Everything Home Assistant is imported inside that function, so
importing the package (and with it the pure modules) has no side effects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

EVENT_TRIP_STARTED = "victron_venus_trip_started"
EVENT_TRIP_ENDED = "victron_venus_trip_ended"


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
    from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
    from homeassistant.core import callback

    @callback
    def describe(event: Any) -> dict[str, str]:
        name, message = describe_trip_event(event.event_type, event.data)
        return {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}

    async_describe_event("victron_venus", EVENT_TRIP_STARTED, describe)
    async_describe_event("victron_venus", EVENT_TRIP_ENDED, describe)

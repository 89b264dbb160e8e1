"""The bank's cell identity as the tests read it: attributes of the lowest/highest cell voltage
sensors (issue 12: no text sensors that flip between batteries)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.victron_venus.const import DOMAIN


def cell_where(hass: HomeAssistant, unique_id: str) -> tuple[str, int | None] | None:
    """(battery, cell) attributes of the bank's lowest/highest cell voltage sensor with this
    unique id; None when it does not exist or has no such attributes."""
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)
    current = hass.states.get(found) if found else None
    if current is None or "battery" not in current.attributes:
        return None
    return current.attributes["battery"], current.attributes["cell"]

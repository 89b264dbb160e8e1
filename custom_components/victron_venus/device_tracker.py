"""Device tracker platform: every source's tracker rows (a GX's GPS as a position).

A row's `value_fn` gives (latitude °, longitude °, accuracy m) or None (no fix); the entity layer
decides the writes (entity.py's write policy): detailed writes every fix at most once per write
interval; balanced and lean write a position that leaves the dead-reckoned course by 10 m (50 m),
every 30 s while the boat moves, and at the maximum silence at anchor.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.device_tracker.const import SourceType
from homeassistant.components.device_tracker.entity import TrackerEntity
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import VictronConfigEntry
from .entity import (
    BAD,
    VictronEntity,
    VictronTrackerEntityDescription,
    async_setup_platform,
    finite_number,
)

PARALLEL_UPDATES = 0  # push: nothing to poll


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add trackers as their devices and positions appear."""
    async_setup_platform(hass, entry, Platform.DEVICE_TRACKER, VictronTracker, async_add_entities)


class VictronTracker(VictronEntity, TrackerEntity):
    """A GPS position from a tracker row of a description table."""

    entity_description: VictronTrackerEntityDescription
    notify_by_reads = True
    _attr_source_type = SourceType.GPS

    @property
    def entity_category(self) -> EntityCategory | None:
        """The row's category: Home Assistant's tracker base makes every tracker diagnostic,
        but a GX's GPS position is its device's main entity (issue 12)."""
        return self.entity_description.entity_category

    def _coerce(self, value: Any) -> Any:
        """(latitude °, longitude °, accuracy m) as finite floats within their ranges; any
        other value is BAD."""
        if value is None:
            return None
        if not isinstance(value, tuple | list) or len(value) != 3:
            return BAD
        numbers = [finite_number(part) for part in value]
        if any(
            n is BAD or type(part) in (bool, str) for n, part in zip(numbers, value, strict=True)
        ):
            return BAD
        latitude, longitude, accuracy = (float(n) for n in numbers)
        if abs(latitude) > 90 or abs(longitude) > 180 or accuracy < 0:
            return BAD
        return (latitude, longitude, accuracy)

    def _position(self) -> tuple[float, float, float] | None:
        value: Any = self.current_value
        return value if isinstance(value, tuple) else None

    @property
    def latitude(self) -> float | None:
        """Latitude in degrees, None without a fix."""
        position = self._position()
        return position[0] if position else None

    @property
    def longitude(self) -> float | None:
        """Longitude in degrees, None without a fix."""
        position = self._position()
        return position[1] if position else None

    @property
    def location_accuracy(self) -> float:
        """Accuracy in metres (0 without a fix)."""
        position = self._position()
        return position[2] if position else 0

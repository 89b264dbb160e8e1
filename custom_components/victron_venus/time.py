"""Time platform: every source's time control rows (durations: a generator's run-for timer)."""

from __future__ import annotations

from datetime import time
from typing import Any

from homeassistant.components.time import TimeEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control import VictronControlEntity, VictronTimeEntityDescription, time_to_seconds
from .coordinator import VictronConfigEntry
from .entity import BAD, async_setup_platform

PARALLEL_UPDATES = 1  # one write at a time per platform: the device confirms each


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add time controls as their devices and values appear."""
    async_setup_platform(hass, entry, Platform.TIME, VictronTime, async_add_entities)


class VictronTime(VictronControlEntity, TimeEntity):
    """A time row: the duration the device reports, as hours:minutes:seconds."""

    entity_description: VictronTimeEntityDescription

    def _coerce(self, value: Any) -> Any:
        """A time (or None); anything else is BAD."""
        return value if value is None or isinstance(value, time) else BAD

    @property
    def native_value(self) -> time | None:
        """The duration the device reported."""
        value = self.current_value
        return value if isinstance(value, time) else None

    async def async_set_value(self, value: time) -> None:
        """Write the duration in seconds; return when the device confirmed it."""
        row = self.entity_description
        device = row.to_device(value) if row.to_device is not None else time_to_seconds(value)
        await self._async_write(device, value.isoformat())

"""Binary sensor platform: every source's binary sensor description rows."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import VictronConfigEntry
from .entity import (
    BAD,
    VictronBinarySensorEntityDescription,
    VictronEntity,
    async_setup_platform,
    finite_number,
)

PARALLEL_UPDATES = 0  # push: nothing to poll


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add binary sensors as their devices and values appear."""
    async_setup_platform(
        hass, entry, Platform.BINARY_SENSOR, VictronBinarySensor, async_add_entities
    )


class VictronBinarySensor(VictronEntity, BinarySensorEntity):
    """A binary sensor row of a description table (ON/OFF fields, alarms, problems)."""

    entity_description: VictronBinarySensorEntityDescription
    notify_by_reads = True

    def _coerce(self, value: Any) -> Any:
        """A bool, or a finite number as a bool (0 = off); text, containers, non-finite or
        overflowing numbers are BAD."""
        if value is None or type(value) is bool:
            return value
        if type(value) is str:
            return BAD
        number = finite_number(value)
        return BAD if number is BAD else bool(number)

    @property
    def is_on(self) -> bool | None:
        """The latest written value."""
        value = self.current_value
        return None if value is None else bool(value)

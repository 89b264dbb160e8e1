"""Binary sensor platform: every source's binary sensor description rows."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import VictronConfigEntry
from .entity import VictronBinarySensorEntityDescription, VictronEntity, async_setup_platform

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

    @property
    def is_on(self) -> bool | None:
        """The latest written value."""
        value = self.current_value
        return None if value is None else bool(value)

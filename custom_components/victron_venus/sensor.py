"""Sensor platform: every source's sensor description rows."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import VictronConfigEntry
from .entity import VictronEntity, VictronSensorEntityDescription, async_setup_platform

PARALLEL_UPDATES = 0  # push: nothing to poll


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors as their devices and values appear."""
    async_setup_platform(hass, entry, Platform.SENSOR, VictronSensor, async_add_entities)


class VictronSensor(VictronEntity, SensorEntity):
    """A sensor row of a description table."""

    entity_description: VictronSensorEntityDescription

    @property
    def native_value(self) -> Any:
        """The latest written value."""
        return self.current_value

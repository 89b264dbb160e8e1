"""Button platform: every source's button control rows (one-shot commands)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control import VictronButtonEntityDescription, VictronControlEntity
from .coordinator import VictronConfigEntry
from .entity import async_setup_platform

PARALLEL_UPDATES = 1  # one write at a time per platform: the device confirms each


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add button controls as their devices appear."""
    async_setup_platform(hass, entry, Platform.BUTTON, VictronButton, async_add_entities)


class VictronButton(VictronControlEntity, ButtonEntity):
    """A button row: a press writes the row's value and waits for the device to report it."""

    entity_description: VictronButtonEntityDescription

    async def async_press(self) -> None:
        """Write the press value; return when the device reported the path."""
        await self._async_write(self.entity_description.press_value, "press")

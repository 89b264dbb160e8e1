"""Button platform: every source's button control rows (one-shot commands)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.const import Platform

from .control import VictronButtonEntityDescription, VictronControlEntity, control_platform_setup

PARALLEL_UPDATES = 1  # one write at a time per platform: the device confirms each


class VictronButton(VictronControlEntity, ButtonEntity):
    """A button row: a press writes the row's value and waits for the device to report it."""

    entity_description: VictronButtonEntityDescription

    async def async_press(self) -> None:
        """Write the press value; return when the device reported the path."""
        await self._async_write(self.entity_description.press_value, "press")


async_setup_entry = control_platform_setup(Platform.BUTTON, VictronButton)

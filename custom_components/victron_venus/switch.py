"""Switch platform: every source's switch control rows (relays, outputs, on/off modes)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import Platform

from .control import VictronControlEntity, VictronSwitchEntityDescription, control_platform_setup
from .entity import BAD

PARALLEL_UPDATES = 1  # one write at a time per platform: the device confirms each


class VictronSwitch(VictronControlEntity, SwitchEntity):
    """A switch row: on as the device reports it; turning it writes the row's on/off value."""

    entity_description: VictronSwitchEntityDescription

    def _coerce(self, value: Any) -> Any:
        """A bool (or None); anything else is BAD."""
        return value if value is None or type(value) is bool else BAD

    @property
    def is_on(self) -> bool | None:
        """Whether the device reports it on."""
        value = self.current_value
        return None if value is None else bool(value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Write the on value; return when the device confirmed it."""
        await self._async_write(self.entity_description.on_value, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Write the off value; return when the device confirmed it."""
        await self._async_write(self.entity_description.off_value, False)


async_setup_entry = control_platform_setup(Platform.SWITCH, VictronSwitch)

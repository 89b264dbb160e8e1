"""Time platform: every source's time control rows (durations: a generator's run-for timer)."""

from __future__ import annotations

from datetime import time
from typing import Any

from homeassistant.components.time import TimeEntity
from homeassistant.const import Platform

from .control import (
    VictronControlEntity,
    VictronTimeEntityDescription,
    control_platform_setup,
    time_to_seconds,
)
from .entity import BAD

PARALLEL_UPDATES = 1  # one write at a time per platform: the device confirms each


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


async_setup_entry = control_platform_setup(Platform.TIME, VictronTime)

"""Number platform: every source's number control rows (limits from the device, confirmed writes).

The state is the device's own report; `async_set_native_value` checks the value against the
limits the device allows now (`control.number_limits`) and waits for the device to confirm it.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.number import NumberEntity
from homeassistant.const import Platform

from .control import (
    VictronControlEntity,
    VictronNumberEntityDescription,
    check_range,
    control_platform_setup,
    number_limits,
    number_to_device,
)
from .entity import BAD, finite_number

PARALLEL_UPDATES = 1  # one write at a time per platform: the device confirms each


class VictronNumber(VictronControlEntity, NumberEntity):
    """A number row: a setting or setpoint of the device."""

    entity_description: VictronNumberEntityDescription

    def _coerce(self, value: Any) -> Any:
        """A finite number (not a bool); anything else is BAD."""
        if value is None:
            return None
        if type(value) is bool:
            return BAD
        return finite_number(value)

    @property
    def native_value(self) -> float | None:
        """The value the device reported."""
        value = self.current_value
        return None if value is None else float(value)

    def _limits(self) -> tuple[float, float]:
        source = self._source()
        reported: tuple[Any, Any] = (None, None)
        if source is not None:
            reported = source.control_limits(self.coordinator, self.entity_description)
        return number_limits(self.entity_description, self.coordinator.data, reported)

    @property
    def native_min_value(self) -> float:
        """The lowest value the device allows now."""
        return self._limits()[0]

    @property
    def native_max_value(self) -> float:
        """The highest value the device allows now."""
        return self._limits()[1]

    async def async_set_native_value(self, value: float) -> None:
        """Write `value` once it is within the device's limits; return when confirmed."""
        check_range(value, self._limits(), self.entity_id)
        await self._async_write(number_to_device(self.entity_description, value), value)


async_setup_entry = control_platform_setup(Platform.NUMBER, VictronNumber)

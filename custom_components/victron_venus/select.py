"""Select platform: every source's select control rows (modes), options the device allows."""

from __future__ import annotations

from typing import Any

from homeassistant.components.select import SelectEntity
from homeassistant.const import Platform

from .control import VictronControlEntity, VictronSelectEntityDescription, control_platform_setup
from .entity import BAD

PARALLEL_UPDATES = 1  # one write at a time per platform: the device confirms each


class VictronSelect(VictronControlEntity, SelectEntity):
    """A select row: the option the device reports; choosing one writes its code."""

    entity_description: VictronSelectEntityDescription

    def _coerce(self, value: Any) -> Any:
        """One of the row's options (or None); anything else is BAD."""
        if value is None:
            return None
        return value if value in self.entity_description.codes else BAD

    @property
    def options(self) -> list[str]:  # the device's, not cached
        """The options the device allows now (its `options_fn`), else all of the row's."""
        row = self.entity_description
        if row.options_fn is not None:
            try:
                return list(row.options_fn(self.coordinator.data))
            except Exception:
                pass
        return list(row.options or row.codes)

    @property
    def current_option(self) -> str | None:
        """The option the device reported."""
        value = self.current_value
        return value if isinstance(value, str) else None

    async def async_select_option(self, option: str) -> None:
        """Write the option's code; return when the device confirmed it."""
        await self._async_write(self.entity_description.codes[option], option)


async_setup_entry = control_platform_setup(Platform.SELECT, VictronSelect)

"""The recording option every entry type shares: how much of what its devices say reaches the
recorder (entity.py's write policy; const.Recording).

Not an entry type: config_flow.py's options flow shows `recording_fields(entry)` first, beside
the write interval. Its text (the field, its description and the three choices, selector
`recording`) is in strings.json.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio

from ..const import CONF_RECORDING, Recording
from ..coordinator import recording_of


def recording_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """The recording field of the options form; its default is the entry's current policy
    (`coordinator.recording_of`), so the options always store the policy in use."""
    current = recording_of(entry.options)
    return {
        probatio.Required(CONF_RECORDING, default=current.value): SelectSelector(
            SelectSelectorConfig(
                options=[choice.value for choice in Recording],
                mode=SelectSelectorMode.LIST,
                translation_key="recording",
            )
        )
    }

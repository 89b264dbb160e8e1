"""Diagnostics download: the entry (secrets redacted), the source's counters and latest data."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from . import VictronConfigEntry

#: Keys whose values never leave the machine: credentials and device serial numbers.
TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    "SER#",
    "serial",
    "unique_id",
    "portal_id",
    "title",
    "address",  # a JBD battery's Bluetooth address
    "discovery_keys",  # they hold the same address
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: VictronConfigEntry
) -> dict[str, Any]:
    """Everything useful for a bug report, with secrets and serials redacted."""
    source = entry.runtime_data
    source_data = source.diagnostics()
    # device identifiers are serial numbers: replace them with their position
    devices = source_data.get("devices", {})
    source_data["devices"] = {f"device_{n}": value for n, value in enumerate(devices.values())}
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "source": async_redact_data(source_data, TO_REDACT),
    }

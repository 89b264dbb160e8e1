"""Victron Venus: Victron energy systems, lithium batteries and a boat's logbook in Home Assistant.

Setup builds the entry's source (DESIGN.md: one source per entry type), starts it, keeps it in
`entry.runtime_data`, and forwards the source's platforms.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import CONF_ENTRY_TYPE, EntryType
from .sources import source_class
from .sources.base import Source

type VictronConfigEntry = ConfigEntry[Source]


def entry_type(entry: ConfigEntry) -> EntryType:
    """The entry type of a config entry (VE.Direct for entries older than the field)."""
    return EntryType(entry.data.get(CONF_ENTRY_TYPE, EntryType.VEDIRECT))


async def async_setup_entry(hass: HomeAssistant, entry: VictronConfigEntry) -> bool:
    """Start the entry's source and its platforms."""
    source = source_class(entry_type(entry))(hass, entry)
    entry.runtime_data = source
    await source.async_start()
    try:
        await hass.config_entries.async_forward_entry_setups(entry, source.platforms)
    except BaseException:
        await source.async_stop()
        raise
    return True


async def async_unload_entry(hass: HomeAssistant, entry: VictronConfigEntry) -> bool:
    """Unload the platforms, then stop the source (closes ports and connections)."""
    source = entry.runtime_data
    unloaded = await hass.config_entries.async_unload_platforms(entry, source.platforms)
    if unloaded:
        await source.async_stop()
    return unloaded

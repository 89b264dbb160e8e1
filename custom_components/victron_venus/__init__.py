"""Victron Venus: Victron energy systems, lithium batteries and a boat's logbook in Home Assistant.

Setup builds the entry's source (DESIGN.md: one source per entry type), starts it, keeps it in
`entry.runtime_data`, and forwards the source's platforms. The service actions (the logbook's)
are registered once in `async_setup`.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import CONF_ENTRY_TYPE, DOMAIN, EntryType
from .sources import source_class
from .sources.base import Source

type VictronConfigEntry = ConfigEntry[Source]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the service actions (they address entries by config_entry_id)."""
    from .services import async_setup_services

    async_setup_services(hass)
    return True


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


async def async_remove_entry(hass: HomeAssistant, entry: VictronConfigEntry) -> None:
    """Delete what an entry type keeps outside its entry (a JBD battery's energy counters)."""
    remove = getattr(source_class(entry_type(entry)), "async_remove_entry", None)
    if remove is not None:
        await remove(hass, entry)

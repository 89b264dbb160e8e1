"""Victron Venus: Victron energy systems, lithium batteries and a boat's logbook in Home Assistant.

Setup builds the entry's source (DESIGN.md: one source per entry type), starts it, keeps it in
`entry.runtime_data`, and forwards the source's platforms; the entry's registry entities on a
platform the source does not set up this time (the control platforms once Control is off) are
removed, as they can have no entity. The service actions (the logbook's)
are registered once in `async_setup`. `async_migrate_entry` brings entries of older config entry
versions up to date. `entry_type` (const.py) and `VictronConfigEntry` (coordinator.py) stay
importable from here for one release.
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_RECORDING,
    CONF_WRITE_INTERVAL,
    DOMAIN,
    LEGACY_CONF_UPDATE_INTERVAL,
    entry_type,
)
from .coordinator import VictronConfigEntry, recording_of
from .sources import source_class

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the service actions (they address entries by config_entry_id) and watch for
    deleted member batteries of banks (repairs.py)."""
    from .repairs import async_setup_bank_member_watch
    from .services import async_setup_services

    async_setup_services(hass)
    async_setup_bank_member_watch(hass)  # a deleted member battery: the bank's repair issue
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry of any type from an older version up to const.CONFIG_ENTRY_VERSION.MINOR.

    1.1 -> 1.2: the option `update_interval` (seconds between two state writes of an entity)
    becomes `write_interval`, its value unchanged; an entry without it keeps its options. A
    minor version, so a downgrade still loads the entry (with the default write interval). Home
    Assistant refuses an entry of a later major version before it gets here.

    1.2 -> 1.3: the write policy becomes the option `recording`: "detailed" for an entry whose
    write interval is 0 (it asked for every change, and keeps it), "balanced" (the default) for
    every other entry; the write interval stays (the shortest time between two writes that are
    not urgent). An entry that already has the option keeps it. A downgrade ignores the option.
    """
    if entry.version == 1 and entry.minor_version < 2:
        options = dict(entry.options)
        if LEGACY_CONF_UPDATE_INTERVAL in options:
            options[CONF_WRITE_INTERVAL] = options.pop(LEGACY_CONF_UPDATE_INTERVAL)
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
        _LOGGER.debug("%s: config entry migrated to version 1.2", entry.title)
    if entry.version == 1 and entry.minor_version < 3:
        options = dict(entry.options)
        options.setdefault(CONF_RECORDING, recording_of(options).value)
        hass.config_entries.async_update_entry(entry, options=options, minor_version=3)
        _LOGGER.debug("%s: config entry migrated to version 1.3", entry.title)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: VictronConfigEntry) -> bool:
    """Start the entry's source and its platforms."""
    source = source_class(entry_type(entry))(hass, entry)
    entry.runtime_data = source
    _remove_entities_off_platforms(hass, entry, source.platforms)
    await source.async_start()
    try:
        await hass.config_entries.async_forward_entry_setups(entry, source.platforms)
    except BaseException:
        await source.async_stop()
        raise
    return True


def _remove_entities_off_platforms(
    hass: HomeAssistant, entry: VictronConfigEntry, platforms: tuple[str, ...]
) -> None:
    """Remove the entry's registry entities whose platform the source does not set up (the
    control entities of an entry whose Control option was turned off): nothing would ever
    create them, and they would stay as unavailable leftovers in the entity list."""
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.domain not in platforms:
            _LOGGER.debug(
                "%s: %s removed (its platform is not set up)", entry.title, entity.entity_id
            )
            registry.async_remove(entity.entity_id)


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

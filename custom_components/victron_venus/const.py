"""Constants shared by the whole integration, and `entry_type()`."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

DOMAIN: Final = "victron_venus"
MANUFACTURER: Final = "Victron Energy"

#: The config entry version this code writes (the config flow's VERSION and MINOR_VERSION).
#: 1.2: the option `update_interval` is called `write_interval` (`async_migrate_entry`).
#: 1.3: the option `recording` (the write policy) is stored, taken from the write interval.
CONFIG_ENTRY_VERSION: Final = 1
CONFIG_ENTRY_MINOR_VERSION: Final = 3

CONF_ENTRY_TYPE: Final = "entry_type"
CONF_SERIAL_PORT: Final = "serial_port"
#: Option: seconds between two state writes of one entity, so of recorder rows (0 = every
#: change). Not a polling interval: every value still reaches the coordinator.
CONF_WRITE_INTERVAL: Final = "write_interval"
#: Default write interval in seconds.
DEFAULT_WRITE_INTERVAL: Final = 5
MAX_WRITE_INTERVAL: Final = 300


class Recording(StrEnum):
    """The write policy an entry's entities follow (option `recording`; entity.py decides).

    detailed: every change, at most once per write interval (the behaviour before 1.3);
    balanced: a change of the quantity's threshold, a large step at once, the current value at
    the latest after the maximum silence, energy counters exact at every statistics period;
    lean: as balanced with larger thresholds and a longer silence.
    """

    DETAILED = "detailed"
    BALANCED = "balanced"
    LEAN = "lean"


#: Option: the write policy (a `Recording`). Entries without it: `recording_of` (coordinator.py).
CONF_RECORDING: Final = "recording"
DEFAULT_RECORDING: Final = Recording.BALANCED

#: Home Assistant's short-term statistics period (seconds): long-term statistics of a counter
#: are built from its last state in each such period, so entity.py writes a changed counter
#: before each period ends.
STATISTICS_PERIOD: Final = 300

#: The write interval's option key in entries before config entry version 1.2 (migrated by
#: `async_migrate_entry`).
LEGACY_CONF_UPDATE_INTERVAL: Final = "update_interval"
#: Old names of the write interval constants, for one release.
CONF_UPDATE_INTERVAL: Final = CONF_WRITE_INTERVAL
DEFAULT_UPDATE_INTERVAL: Final = DEFAULT_WRITE_INTERVAL
MAX_UPDATE_INTERVAL: Final = MAX_WRITE_INTERVAL

#: A device whose last verified record is older than this is unavailable (seconds).
FRESHNESS_TIMEOUT: Final = 10.0

#: VE.Direct serial settings (protocols.md §1.1: 19200 8N1).
VEDIRECT_BAUDRATE: Final = 19200
#: How long the config flow waits for a verified record (seconds).
VEDIRECT_PROBE_TIMEOUT: Final = 5.0

#: JBD BMS serial settings (protocols.md §2.1: 9600 8N1).
JBD_BAUDRATE: Final = 9600
#: Default seconds between two polls of a JBD battery (0x03 + 0x04).
JBD_DEFAULT_POLL_INTERVAL: Final = 10


class EntryType(StrEnum):
    """The config entry types of the one integration (DESIGN.md, "Sources of data")."""

    VEDIRECT = "vedirect"
    VENUS = "venus"
    JBD = "jbd"
    BLE_BATTERY = "ble_battery"
    BANK = "bank"
    LOGBOOK = "logbook"


def entry_type(entry: ConfigEntry) -> EntryType:
    """The entry type of a config entry (VE.Direct for entries older than the field)."""
    return EntryType(entry.data.get(CONF_ENTRY_TYPE, EntryType.VEDIRECT))

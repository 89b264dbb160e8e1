"""Constants shared by the whole integration."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

DOMAIN: Final = "victron_venus"
MANUFACTURER: Final = "Victron Energy"

CONF_ENTRY_TYPE: Final = "entry_type"
CONF_SERIAL_PORT: Final = "serial_port"
CONF_UPDATE_INTERVAL: Final = "update_interval"

#: Default recorder-friendly update interval in seconds (0 = write every change).
DEFAULT_UPDATE_INTERVAL: Final = 5
MAX_UPDATE_INTERVAL: Final = 300

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
    BANK = "bank"
    LOGBOOK = "logbook"

"""Sources, one per entry type (DESIGN.md): each owns its transport and parser.

`SOURCES` maps an entry type to its Source class. The modules are imported here, with the
integration (Home Assistant imports a custom integration in its executor), so that setting up an
entry never imports a module inside the event loop (Home Assistant reports that as a blocking call).
"""

from __future__ import annotations

from ..const import EntryType
from .bank import BankSource
from .base import Source
from .ble_battery import BLEBatterySource
from .jbd import JBDSource
from .logbook import LogbookSource
from .vedirect import VEDirectSource
from .venus import VenusSource

SOURCES: dict[EntryType, type[Source]] = {
    EntryType.VEDIRECT: VEDirectSource,
    EntryType.VENUS: VenusSource,
    EntryType.JBD: JBDSource,
    EntryType.BLE_BATTERY: BLEBatterySource,
    EntryType.BANK: BankSource,
    EntryType.LOGBOOK: LogbookSource,
}


def source_class(entry_type: EntryType) -> type[Source]:
    """The Source class of an entry type (KeyError for a type without a source)."""
    return SOURCES[entry_type]

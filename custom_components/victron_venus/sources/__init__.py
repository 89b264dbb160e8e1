"""Sources, one per entry type (DESIGN.md): each owns its transport and parser.

`SOURCES` maps an entry type to "module:Class" so setup imports only the source it needs.
"""

from __future__ import annotations

import importlib

from ..const import EntryType
from .base import Source

SOURCES: dict[EntryType, str] = {
    EntryType.VEDIRECT: "vedirect:VEDirectSource",
    EntryType.VENUS: "venus:VenusSource",
    EntryType.JBD: "jbd:JBDSource",
    EntryType.BANK: "bank:BankSource",
    EntryType.LOGBOOK: "logbook:LogbookSource",
}


def source_class(entry_type: EntryType) -> type[Source]:
    """The Source class of an entry type."""
    module, _, name = SOURCES[entry_type].partition(":")
    cls: type[Source] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return cls

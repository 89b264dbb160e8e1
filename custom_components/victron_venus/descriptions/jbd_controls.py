"""JBD battery control rows: the charge and discharge MOSFETs as switches (issue 11 §4).

Each row shows the MOSFET as the BMS reports it in the FET byte of its 0x03 answer (bit 0 charge,
bit 1 discharge on; protocols.md §2.4; the same keys the read-only binary sensors use) and
writes through `sources.jbd.JBDSource.async_write`: the whole 0xE1 MOSFET control sequence of
`protocol.jbd.mosfet_control` (factory mode, 0xE1, leave factory mode; §2.2), each write
acknowledged, then confirmed by the FET bits of the next 0x03. The rows exist only with the
entry's Control option on. A battery bank's MOSFET entities stay read-only (they aggregate).

`path` names what the row writes in the write log: the charge or discharge bit of register
0xE1. `on_value` / `off_value` are the MOSFET states asked for (True: conducting).
"""

from __future__ import annotations

from typing import Final

from ..control import VictronSwitchEntityDescription

CHARGE_KEY: Final = "charge_fet"
DISCHARGE_KEY: Final = "discharge_fet"


def mosfet_switch(key: str, translation_key: str, path: str) -> VictronSwitchEntityDescription:
    """A MOSFET switch row over the 0x03 FET bit at `key` (a bool in the battery's data)."""
    return VictronSwitchEntityDescription(
        key=key,
        translation_key=translation_key,
        path=path,
        on_value=True,
        off_value=False,
    )


SWITCHES: tuple[VictronSwitchEntityDescription, ...] = (
    mosfet_switch(CHARGE_KEY, "charge_mosfet", "0xE1/charge"),
    mosfet_switch(DISCHARGE_KEY, "discharge_mosfet", "0xE1/discharge"),
)
"""The switch rows of a JBD battery with Control on (keys: the 0x03 FET values)."""

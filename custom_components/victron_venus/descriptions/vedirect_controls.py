"""VE.Direct control rows: what a VE.Direct device lets Home Assistant set over HEX.

Each row writes one HEX register (`path`: ``"0x<register>"``) with a HEX Set
(protocol/vedirect_hex.py ``set_value``) and reads the value from the coordinator's data key
``hex_<register key>`` (the register table's key: ``hex_load_output_control`` for 0xEDAB). That
key appears only when the device answered a Get of the register (Control on), so a row becomes an
entity only on a device that has the register. A write counts once the device answered the Set
with flags 0 and the value written, and a Get of the register right after reports it too.

Per family (`protocol.vedirect_hex_session.device_family`), facts from protocols.md §1.4 and the
Victron HEX documents cited in protocol/vedirect_hex.py ([BlueSolar], [Phoenix], [velib]):

* MPPT: load output (0xEDAB: 4 = always on, 0 = always off; only when 0x0140 capabilities bit 0
  says the charger has a load output; other modes such as "automatic" show as unknown), charger
  on/off (device mode 0x0200: 1 = on, 4 = off), battery maximum charge current (0xEDF0, 0.1 A;
  limits from the device: 0xEDC8 minimum when it has it, else 0 A, and 0xEDDF maximum);
* Phoenix inverter: mode (0x0200: 2 = on, 4 = off, 5 = eco);
* Blue Smart charger: charger on/off (0x0200: 1 / 4, by analogy with the MPPT) and its charge
  current limit (0xEDF0, limits 0xEDC8 / 0xEDDF) where the charger answers those registers;
* BMV / SmartShunt: "synchronise SOC to 100 %" (0x102C, a Set without a value; [velib]
  VE_REG_SYNCHRONIZE). No other BMV register is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from homeassistant.components.number import NumberDeviceClass, NumberMode
from homeassistant.const import EntityCategory, UnitOfElectricCurrent

from ..control import (
    VictronButtonEntityDescription,
    VictronControlEntityDescription,
    VictronNumberEntityDescription,
    VictronSelectEntityDescription,
    VictronSwitchEntityDescription,
    option_of,
)
from ..coordinator import DeviceData
from ..protocol.vedirect_hex import REGISTERS

CONFIG: Final = EntityCategory.CONFIG


def hex_key(register: int) -> str:
    """The coordinator data key of a HEX register's value: ``hex_`` + its table key."""
    return f"hex_{REGISTERS[register].key}"


def hex_path(register: int) -> str:
    """A row's `path`: the register as ``0xEDAB``."""
    return f"0x{register:04X}"


def register_of(row: VictronControlEntityDescription) -> int:
    """The register a row writes (its `path`). Raises ValueError for a row without one."""
    if row.path is None:
        raise ValueError(f"{row.key} names no register")
    return int(row.path, 16)


def family_key(family: str) -> str:
    """The data key that marks the device's family (present only with Control on)."""
    return f"hex_family_{family}"


def _of(key: str, *families: str) -> Any:
    """exists_fn: the device is of one of `families` and reported `key` (keys only)."""
    markers = tuple(family_key(f) for f in families)

    def exists(data: DeviceData) -> bool:
        return key in data and any(m in data for m in markers)

    return exists


def _codes(key: str, codes: Mapping[int, bool]) -> Any:
    def read(data: DeviceData) -> bool | None:
        return codes.get(data.get(key))  # type: ignore[arg-type]

    return read


LOAD_OUTPUT_ON: Final = 4
LOAD_OUTPUT_OFF: Final = 0
MODE_CHARGER_ON: Final = 1
MODE_OFF: Final = 4
INVERTER_MODE_CODES: Final = {"on": 2, "off": 4, "eco": 5}
"""The Phoenix's 0x0200 codes a user may choose ([Phoenix]; vedirect_hex.DEVICE_MODE_CHOICES)."""

_MODE: Final = hex_key(0x0200)
_LOAD: Final = hex_key(0xEDAB)
_CURRENT: Final = hex_key(0xEDF0)

LOAD_OUTPUT: Final = VictronSwitchEntityDescription(
    key=_LOAD,
    translation_key="load_output",
    path=hex_path(0xEDAB),
    value_fn=_codes(_LOAD, {LOAD_OUTPUT_ON: True, LOAD_OUTPUT_OFF: False}),
    exists_fn=_of(_LOAD, "mppt"),
    on_value=LOAD_OUTPUT_ON,
    off_value=LOAD_OUTPUT_OFF,
)
SOLAR_CHARGER_ON: Final = VictronSwitchEntityDescription(
    key=_MODE,
    translation_key="solar_charger_on",
    path=hex_path(0x0200),
    exists_fn=_of(_MODE, "mppt"),
    value_fn=_codes(_MODE, {MODE_CHARGER_ON: True, MODE_OFF: False}),
    on_value=MODE_CHARGER_ON,
    off_value=MODE_OFF,
    entity_category=CONFIG,
)
CHARGER_ON: Final = VictronSwitchEntityDescription(
    key=_MODE,
    translation_key="charger_on",
    path=hex_path(0x0200),
    exists_fn=_of(_MODE, "charger"),
    value_fn=_codes(_MODE, {MODE_CHARGER_ON: True, MODE_OFF: False}),
    on_value=MODE_CHARGER_ON,
    off_value=MODE_OFF,
    entity_category=CONFIG,
)
MAX_CHARGE_CURRENT: Final = VictronNumberEntityDescription(
    key=_CURRENT,
    translation_key="battery_max_charge_current",
    path=hex_path(0xEDF0),
    exists_fn=_of(_CURRENT, "mppt", "charger"),
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_min_value=0.0,
    native_step=0.1,
    min_key=hex_key(0xEDC8),
    max_key=hex_key(0xEDDF),
    mode=NumberMode.BOX,
    entity_category=CONFIG,
)
INVERTER_MODE: Final = VictronSelectEntityDescription(
    key=_MODE,
    translation_key="inverter_mode",
    path=hex_path(0x0200),
    exists_fn=_of(_MODE, "inverter"),
    options=list(INVERTER_MODE_CODES),
    codes=INVERTER_MODE_CODES,
    value_fn=lambda data: option_of({v: k for k, v in INVERTER_MODE_CODES.items()})(
        data.get(_MODE)
    ),
)
SYNCHRONIZE: Final = VictronButtonEntityDescription(
    key="hex_synchronize",
    translation_key="synchronize_soc",
    path=hex_path(0x102C),
    press_value=None,
    exists_fn=_of("hex_product_id", "bmv"),
)

FAMILY_CONTROLS: Final[Mapping[str, Sequence[VictronControlEntityDescription]]] = {
    "mppt": (LOAD_OUTPUT, SOLAR_CHARGER_ON, MAX_CHARGE_CURRENT),
    "inverter": (INVERTER_MODE,),
    "charger": (CHARGER_ON, MAX_CHARGE_CURRENT),
    "bmv": (SYNCHRONIZE,),
}
"""The control rows per device family."""

ALL_CONTROLS: Final[tuple[VictronControlEntityDescription, ...]] = (
    LOAD_OUTPUT,
    SOLAR_CHARGER_ON,
    CHARGER_ON,
    MAX_CHARGE_CURRENT,
    INVERTER_MODE,
    SYNCHRONIZE,
)
"""Every row once: a row exists on a device of its family (the ``hex_family_<family>`` key)
whose data has the row's key, so the rows can be offered before the family is known."""

FAMILY_READS: Final[Mapping[str, tuple[int, ...]]] = {
    "mppt": (0x0200, 0xEDC8, 0xEDDF, 0xEDF0),
    "inverter": (0x0200,),
    "charger": (0x0200, 0xEDC8, 0xEDDF, 0xEDF0),
    "bmv": (),
}
"""The registers read (HEX Get) for the rows, at start and after each write; an MPPT's load
output (0xEDAB) only when its capabilities (0x0140) say it has one."""

IDENTITY_READS: Final = (0x0100, 0x0102, 0x010A)
"""Product id, firmware and serial number, read at start and daily ([velib], [BlueSolar])."""

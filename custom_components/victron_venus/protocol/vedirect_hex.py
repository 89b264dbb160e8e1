r"""VE.Direct HEX protocol codec: commands in, lines out; lines in, typed messages out (sans-I/O).

Pure: no I/O, no asyncio, no Home Assistant (DESIGN.md, "Rules of the house"). The TEXT parser
(:mod:`.vedirect`) already cuts the HEX frames out of the serial stream and checks their sum;
it keeps them in ``VEDirectParser.hex_lines`` (``:`` through ``\n``). :func:`decode_line` decodes
exactly those lines; :func:`get`, :func:`set` and :func:`ping` build the lines a host sends.

Sources, cited below by these short names:

* [Phoenix] Victron, "VE.Direct Protocol - Phoenix Inverters", Rev 5, section 1 "VE.Direct
  commands": frame format, command and response nibbles, little-endian numbers, "an error response
  with value 0xAAAA is sent on framing errors".
* [BlueSolar] Victron, "VE.Direct Protocol - BlueSolar and SmartSolar MPPT chargers"
  (BlueSolar-HEX-protocol.pdf): the same frame format, the Get/Set flags, the charger registers.
* [velib] Victron's register definitions, victronenergy/gui-v2
  @3b9459731f7189c522ec607c580b8917ef577ea6 : velib/inc/velib/ve_regs.h (the machine-readable form
  of the registers the HEX documents list: payload types, scales, "0xFFFF = Not Available").
* [krahabb] krahabb/esphome-victron-vedirect @22281c07 : components/m3_vedirect/ve_reg_enum.h and
  ve_reg_register.h (enum values, register flavours), used as a cross-check.
* [§1.4] ../shared/reference/protocols.md section 1.4 (HEX frames in the text stream).
* [capture] the byte-exact captures in ../shared/fixtures/vedirect (tests decode every HEX line).

Frame format ([Phoenix] "VE.Direct commands", [§1.4])::

    ':' command-nibble  data-bytes...  check-byte  '\n'     (hex digits, uppercase when sent)
    (command + sum(data bytes) + check) & 0xFF == 0x55      numbers little-endian

Get, Set and Async carry ``register (un16) flags (un8) value...``; the other commands carry plain
data (the ping response's version word, the product id, the 0xAAAA framing error).
"""

from collections.abc import Mapping
from dataclasses import dataclass
import enum
import math
from typing import Final

from .vedirect import CS_STATES, MAX_HEX_FRAME
from .vedirect_pids import PID_MODELS

__all__ = [
    "CAPABILITY_LOAD_OUTPUT",
    "CMD_APP_VERSION",
    "CMD_ASYNC",
    "CMD_ENTER_BOOT",
    "CMD_GET",
    "CMD_PING",
    "CMD_PRODUCT_ID",
    "CMD_RESTART",
    "CMD_SET",
    "DEVICE_MODES",
    "DEVICE_MODE_CHOICES",
    "FLAG_NAMES",
    "FLAG_NOT_SUPPORTED",
    "FLAG_PARAMETER_ERROR",
    "FLAG_UNKNOWN_ID",
    "FRAMING_ERROR",
    "HISTORY_DAY_FIRST",
    "HISTORY_DAY_LAST",
    "HISTORY_DAY_LEN",
    "HISTORY_TOTAL",
    "HISTORY_TOTAL_LEN",
    "LOAD_OUTPUT_CONTROL",
    "LOAD_OUTPUT_STATES",
    "MAX_VALUE_BYTES",
    "REGISTERS",
    "RSP_ASYNC",
    "RSP_DONE",
    "RSP_ERROR",
    "RSP_GET",
    "RSP_PING",
    "RSP_SET",
    "RSP_UNKNOWN",
    "Device",
    "HexMessage",
    "HexValueError",
    "HistoryDay",
    "HistoryTotal",
    "Kind",
    "Register",
    "decode_firmware",
    "decode_history_day",
    "decode_history_total",
    "decode_line",
    "decode_product_id",
    "decode_value",
    "encode_frame",
    "encode_value",
    "flag_names",
    "get",
    "history_day_register",
    "ping",
    "set",
    "set_value",
]

# --- commands, responses, flags ([Phoenix] "VE.Direct commands"; [BlueSolar]; [§1.4]) -------------

CMD_ENTER_BOOT: Final = 0x0
"""Enter boot (never sent by this integration)."""
CMD_PING: Final = 0x1
"""Ping: the device answers :data:`RSP_PING` with its firmware version word."""
CMD_APP_VERSION: Final = 0x3
"""App version: the device answers :data:`RSP_DONE` with the firmware version."""
CMD_PRODUCT_ID: Final = 0x4
"""Product id: the device answers :data:`RSP_DONE` with the product id."""
CMD_RESTART: Final = 0x6
"""Restart: no response is sent."""
CMD_GET: Final = 0x7
"""Get ``register flags``: the device answers :data:`RSP_GET` with the value, or flags != 0."""
CMD_SET: Final = 0x8
"""Set ``register flags value``: the device answers :data:`RSP_SET` with the value it holds."""
CMD_ASYNC: Final = 0xA
"""Async: sent unsolicited by the device, ``register flags value``; not to be answered."""

RSP_DONE: Final = 0x1
"""Done: successful execution (answer to App version and Product id)."""
RSP_UNKNOWN: Final = 0x3
"""Unknown: the command nibble is not known to the device."""
RSP_ERROR: Final = 0x4
"""Error, e.g. a framing error: the data is then :data:`FRAMING_ERROR`, ``:4AAAAFD``."""
RSP_PING: Final = 0x5
"""Ping response: the data is the firmware version word."""
RSP_GET: Final = 0x7
"""Get response."""
RSP_SET: Final = 0x8
"""Set response."""
RSP_ASYNC: Final = 0xA
"""Async message (same nibble as the command)."""

FRAMING_ERROR: Final = 0xAAAA
"""Data of the :data:`RSP_ERROR` the device sends for a line it could not frame ([Phoenix])."""

FLAG_UNKNOWN_ID: Final = 0x01
"""Get/Set response flag: the register is unknown to the device ([BlueSolar])."""
FLAG_NOT_SUPPORTED: Final = 0x02
"""Get/Set response flag: not supported, e.g. a Set of a read-only register ([BlueSolar])."""
FLAG_PARAMETER_ERROR: Final = 0x04
"""Get/Set response flag: the value is out of range or otherwise invalid ([BlueSolar])."""
FLAG_NAMES: Final[dict[int, str]] = {
    FLAG_UNKNOWN_ID: "unknown_id",
    FLAG_NOT_SUPPORTED: "not_supported",
    FLAG_PARAMETER_ERROR: "parameter_error",
}
"""Names of the response flag bits."""

_ADDRESSED: Final = frozenset((CMD_GET, CMD_SET, CMD_ASYNC))  # data = register, flags, value
MAX_VALUE_BYTES: Final = (MAX_HEX_FRAME - 11) // 2
"""Most value bytes a Set line may carry and still fit in the TEXT parser's MAX_HEX_FRAME (250)."""
_HEX_DIGITS: Final = frozenset(b"0123456789ABCDEFabcdef")  # as the TEXT parser accepts them

# --- errors ---------------------------------------------------------------------------------------


class HexValueError(ValueError):
    """A value that cannot be encoded, or data that cannot be decoded, for a register."""


# --- lines out ------------------------------------------------------------------------------------


def encode_frame(command: int, data: bytes = b"") -> bytes:
    r"""Build one whole line ``:`` command data check ``\n`` (uppercase hex, [Phoenix]).

    ``encode_frame(CMD_PING) == b":154\n"``; ``encode_frame(RSP_ERROR, b"\xaa\xaa") ==
    b":4AAAAFD\n"``. Raises ValueError for a command outside 0..15 or a line longer than the TEXT
    parser accepts (MAX_HEX_FRAME bytes).
    """
    if not 0 <= command <= 0xF:
        raise ValueError(f"command must be a nibble 0..15, got {command}")
    data = bytes(data)
    if 2 * len(data) + 5 > MAX_HEX_FRAME:
        raise ValueError(f"{len(data)} data bytes do not fit in one HEX line")
    check = (0x55 - command - sum(data)) & 0xFF
    return b":%X%s%02X\n" % (command, data.hex().upper().encode("ascii"), check)


def _addressed(command: int, register: int, flags: int, value: bytes) -> bytes:
    if not 0 <= register <= 0xFFFF:
        raise ValueError(f"register must be 0..0xFFFF, got {register}")
    if not 0 <= flags <= 0xFF:
        raise ValueError(f"flags must be 0..0xFF, got {flags}")
    if len(value) > MAX_VALUE_BYTES:
        raise ValueError(f"a value of {len(value)} bytes does not fit in one HEX line")
    return encode_frame(command, register.to_bytes(2, "little") + bytes((flags,)) + value)


def get(register: int, flags: int = 0) -> bytes:
    r"""Build a Get line: ``:7`` register (LE) flags check ``\n`` ([BlueSolar], [Phoenix]).

    ``get(0xEDF0) == b":7F0ED0071\n"`` (battery maximum current). Flags should be zero
    ([Phoenix]). Raises ValueError for a register outside 0..0xFFFF or flags outside 0..0xFF.
    """
    return _addressed(CMD_GET, register, flags, b"")


def set(register: int, value: bytes, flags: int = 0) -> bytes:
    r"""Build a Set line: ``:8`` register (LE) flags value check ``\n`` ([BlueSolar], [Phoenix]).

    ``value`` is the register's raw little-endian bytes (see :func:`encode_value`);
    ``set(0xEDF0, b"\x64\x00") == b":8F0ED0064000C\n"`` sets 10.0 A. Nothing is checked against the
    register table here (use :func:`set_value` for that). Raises ValueError for a register outside
    0..0xFFFF, flags outside 0..0xFF or more than :data:`MAX_VALUE_BYTES` value bytes.
    """
    return _addressed(CMD_SET, register, flags, bytes(value))


def ping() -> bytes:
    r"""Build the Ping line ``:154\n`` ([§1.4]); the device answers ``:5`` + version word."""
    return encode_frame(CMD_PING)


# --- lines in -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HexMessage:
    """One verified HEX line.

    ``command`` is the nibble (:data:`RSP_GET`, :data:`RSP_ASYNC`, ...). For Get, Set and Async
    (7, 8, A) ``register`` and ``flags`` are set and ``data`` is the value's raw bytes; for the
    other commands both are None and ``data`` is everything between the nibble and the check byte.
    """

    command: int
    register: int | None
    flags: int | None
    data: bytes

    @property
    def ok(self) -> bool:
        """True unless this is an error: flags != 0, :data:`RSP_ERROR` or :data:`RSP_UNKNOWN`."""
        if self.command in (RSP_ERROR, RSP_UNKNOWN):
            return False
        return not self.flags

    @property
    def is_async(self) -> bool:
        """True for an unsolicited value the device sent by itself (command A)."""
        return self.command == RSP_ASYNC

    @property
    def is_framing_error(self) -> bool:
        """True for the device's ``:4AAAAFD`` answer to a line it could not frame ([Phoenix])."""
        return self.command == RSP_ERROR and self.data == FRAMING_ERROR.to_bytes(2, "little")


def decode_line(line: object) -> HexMessage | None:
    r"""Decode one HEX line as ``VEDirectParser.hex_lines`` holds them (``:`` ... ``\n``).

    The trailing ``\n`` (and a ``\r`` before it) may be missing. Returns None, never raises, for
    anything that is not a whole, verified line: no ``:``, not hex digits, an even number of digits
    (the nibble plus whole bytes make an odd count), a check byte that does not make the sum 0x55,
    a line longer than MAX_HEX_FRAME, a Get/Set/Async shorter than register + flags, or an argument
    that is not bytes at all (hence `line: object`; bytes, bytearray and memoryview are read).
    """
    if not isinstance(line, bytes | bytearray | memoryview):
        return None
    raw = bytes(line)
    if len(raw) > MAX_HEX_FRAME:
        return None
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    digits = raw[1:]
    if raw[:1] != b":" or len(digits) < 3 or not len(digits) & 1:
        return None
    if not _HEX_DIGITS.issuperset(digits):
        return None
    command = int(digits[:1], 16)
    body = bytes.fromhex(digits[1:].decode("ascii"))
    if (command + sum(body)) & 0xFF != 0x55:
        return None
    data = body[:-1]
    if command in _ADDRESSED:
        if len(data) < 3:
            return None
        return HexMessage(command, data[0] | data[1] << 8, data[2], data[3:])
    return HexMessage(command, None, None, data)


def flag_names(flags: int) -> list[str]:
    """Names of the set response flag bits ([BlueSolar]); unknown bits as ``"0x10"`` etc."""
    return [
        FLAG_NAMES.get(bit, f"0x{bit:02X}") for bit in (1 << i for i in range(8)) if flags & bit
    ]


# --- the register table ---------------------------------------------------------------------------


class Device(enum.Flag):
    """The VE.Direct device families a register belongs to."""

    MPPT = enum.auto()
    """BlueSolar / SmartSolar MPPT solar chargers ([BlueSolar])."""
    BMV = enum.auto()
    """BMV-70x / BMV-712 battery monitors and SmartShunts."""
    INVERTER = enum.auto()
    """Phoenix inverters ([Phoenix])."""
    CHARGER = enum.auto()
    """Blue Smart (Phoenix Smart) AC chargers."""
    ALL = MPPT | BMV | INVERTER | CHARGER


class Kind(enum.Enum):
    """How a register's value is laid out ([velib] payload types; little-endian)."""

    UN8 = "un8"
    UN16 = "un16"
    UN32 = "un32"
    SN16 = "sn16"
    SN32 = "sn32"
    STRING = "string"
    """ASCII text, NUL padded."""
    BYTES = "bytes"
    """A record with its own decoder (product id, firmware, history)."""
    COMMAND = "command"
    """Executed by a Set with no value ([velib] gives these registers no payload)."""


_SIZES: Final[dict[Kind, int]] = {
    Kind.UN8: 1,
    Kind.UN16: 2,
    Kind.UN32: 4,
    Kind.SN16: 2,
    Kind.SN32: 4,
}
_SIGNED: Final = frozenset((Kind.SN16, Kind.SN32))


@dataclass(frozen=True, slots=True)
class Register:
    """One HEX register: layout, unit and scale, the devices that have it, and its write rules.

    A numeric value in SI units (Home Assistant unit names) is ``raw * scale + offset``, rounded to
    the register's resolution; ``not_available`` is the raw value the device sends for "no value"
    (decoded as None). ``minimum``/``maximum`` are documented fixed limits in the same unit;
    ``minimum_register``/``maximum_register`` name the registers in which the device reports its
    own limits (read those before writing). ``options`` names the codes of an enum register.
    ``sizes`` lists the accepted value lengths in bytes. ``source`` says where the facts come from.
    ``writable`` marks the registers the documents let a host Set *and* this integration may
    write; a setting the device would accept but nothing here writes (0xEDEF, the battery voltage
    setting) stays read-only, so :func:`set_value` refuses it.
    """

    register: int
    key: str
    name: str
    kind: Kind
    devices: Device
    source: str
    unit: str | None = None
    scale: float = 1
    offset: float = 0
    digits: int = 0
    writable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    minimum_register: int | None = None
    maximum_register: int | None = None
    options: Mapping[int, str] | None = None
    not_available: int | None = None
    sizes: tuple[int, ...] = ()

    @property
    def signed(self) -> bool:
        """True for sn16/sn32 registers."""
        return self.kind in _SIGNED


def _digits(scale: float, offset: float) -> int:
    """Decimal places of a scale and offset (0.01 -> 2, 273.15 -> 2)."""
    places = 0
    for number in (scale, offset):
        text = f"{number:.6f}".rstrip("0")
        places = max(places, len(text.split(".")[1]) if "." in text else 0)
    return places


def _reg(  # noqa: PLR0917 - the table reads best with its columns positional
    register: int,
    key: str,
    name: str,
    kind: Kind,
    devices: Device,
    source: str,
    *,
    unit: str | None = None,
    scale: float = 1,
    offset: float = 0,
    writable: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    minimum_register: int | None = None,
    maximum_register: int | None = None,
    options: Mapping[int, str] | None = None,
    not_available: int | None = None,
    sizes: tuple[int, ...] = (),
) -> Register:
    return Register(
        register,
        key,
        name,
        kind,
        devices,
        source,
        unit,
        scale,
        offset,
        _digits(scale, offset),
        writable,
        minimum,
        maximum,
        minimum_register,
        maximum_register,
        options,
        not_available,
        sizes or ((_SIZES[kind],) if kind in _SIZES else ()),
    )


DEVICE_MODES: Final[dict[int, str]] = {
    1: "charger_on",
    2: "inverter_on",
    3: "on",
    4: "off",
    5: "eco",
    0xFD: "hibernate",
}
"""0x0200 device mode codes ([krahabb] ENUM_DEVICE_MODE; [velib] "see xml"; protocols.md §1.7)."""

DEVICE_MODE_CHOICES: Final[dict[Device, dict[int, str]]] = {
    Device.MPPT: {1: "on", 4: "off"},
    Device.INVERTER: {2: "on", 4: "off", 5: "eco"},
    Device.CHARGER: {1: "on", 4: "off"},
}
"""The 0x0200 codes a user may choose per device family: MPPT charger on/off ([BlueSolar]),
Phoenix inverter on/off/eco ([Phoenix]), Blue Smart charger on/off (by analogy with the MPPT;
no Blue Smart HEX document was found to confirm it)."""

LOAD_OUTPUT_CONTROL: Final[dict[int, str]] = {
    0: "off",
    1: "automatic",
    2: "alternative_1",
    3: "alternative_2",
    4: "on",
    5: "user_defined_1",
    6: "user_defined_2",
    7: "automatic_energy_selector",
}
"""0xEDAB load output control modes ([BlueSolar]; 0 = off and 4 = on are quoted from the document
in a Victron community thread, the others are the document's list as transcribed, unconfirmed)."""

LOAD_OUTPUT_STATES: Final[dict[int, str]] = {
    0: "off",
    1: "on",
    2: "scheduled",
    3: "activating",
}
"""0xEDA8 load output status ([velib] VE_REG_DC_OUTPUT_STATUS)."""

CAPABILITY_LOAD_OUTPUT: Final = 1 << 0
"""0x0140 capabilities bit 0: the device has a load output ([velib] VE_REG_CAPABILITIES1)."""

HISTORY_TOTAL: Final = 0x104F
"""History total register ([velib] VE_REG_HISTORY_TOTAL)."""
HISTORY_DAY_FIRST: Final = 0x1050
"""History of today ([velib] VE_REG_HISTORY_DAY00); 0x1051 is yesterday, and so on."""
HISTORY_DAY_LAST: Final = 0x106E
"""History of 30 days ago ([velib] VE_REG_HISTORY_DAY30)."""
HISTORY_DAY_LEN: Final = 34
"""Bytes of one history day record ([velib]; 34 in every capture)."""
HISTORY_TOTAL_LEN: Final = 19
"""Bytes of the documented part of the history total record ([velib]; captures send 34)."""

_V = "velib ve_regs.h"
_ALL = Device.ALL
_CHARGERS = Device.MPPT | Device.CHARGER
_CONVERTERS = Device.MPPT | Device.INVERTER | Device.CHARGER
_NA16 = 0xFFFF
_NA32 = 0xFFFFFFFF
_S16_NA = 0x7FFF
_S32_NA = 0x7FFFFFFF

_TABLE: Final[tuple[Register, ...]] = (
    # identity ([BlueSolar] "Product information"; [velib])
    _reg(0x0100, "product_id", "Product id", Kind.BYTES, _ALL, f"{_V} VE_REG_PRODUCT_ID"),
    _reg(0x0102, "firmware", "Firmware version", Kind.BYTES, _ALL, f"{_V} VE_REG_APP_VER"),
    _reg(0x0104, "group_id", "Group id", Kind.UN8, _ALL, f"{_V} VE_REG_GROUP_ID"),
    _reg(0x010A, "serial_number", "Serial number", Kind.STRING, _ALL, "krahabb SERIAL_NUMBER"),
    _reg(0x010B, "model_name", "Model name", Kind.STRING, _ALL, "krahabb MODEL_NAME"),
    _reg(0x0120, "uptime", "Uptime", Kind.UN32, _ALL, f"{_V} VE_REG_UPTIME", unit="s"),
    _reg(0x0140, "capabilities", "Capabilities", Kind.UN32, _ALL, f"{_V} VE_REG_CAPABILITIES1"),
    # generic device control ([BlueSolar], [Phoenix] "Generic device control")
    _reg(
        0x0200,
        "device_mode",
        "Device mode",
        Kind.UN8,
        _CONVERTERS,
        f"{_V} VE_REG_DEVICE_MODE; krahabb ENUM_DEVICE_MODE",
        writable=True,
        options=DEVICE_MODES,
    ),
    _reg(
        0x0201,
        "device_state",
        "Device state",
        Kind.UN8,
        _CONVERTERS,
        f"{_V} VE_REG_DEVICE_STATE; protocols.md §1.7 CS",
        options=CS_STATES,
    ),
    _reg(
        0x0202,
        "remote_control_used",
        "Remote control used",
        Kind.UN32,
        _CONVERTERS,
        f"{_V} VE_REG_REMOTE_CONTROL_USED",
        writable=True,
    ),
    _reg(0x0205, "off_reason", "Device off reason", Kind.UN8, _CONVERTERS, f"{_V} 0x0205"),
    _reg(0x0207, "off_reason_2", "Device off reason", Kind.UN32, _CONVERTERS, f"{_V} 0x0207"),
    _reg(
        0x031C,
        "warning_reason",
        "Warning reason",
        Kind.UN16,
        Device.INVERTER | Device.CHARGER | Device.BMV,
        "krahabb WARNING_REASON",
    ),
    _reg(
        0x031E,
        "alarm_reason",
        "Alarm reason",
        Kind.UN16,
        Device.INVERTER | Device.CHARGER | Device.BMV,
        "krahabb ALARM_REASON",
    ),
    # battery monitor (BMV HEX protocol, as [velib] marks "Compatible with BMV HEX protocol")
    _reg(
        0x0FFC,
        "consumed_ah",
        "Consumed Ah",
        Kind.SN32,
        Device.BMV,
        f"{_V} VE_REG_CONSUMED_AH",
        unit="Ah",
        scale=0.1,
        not_available=_S32_NA,
    ),
    _reg(
        0x0FFE,
        "time_to_go",
        "Time to go",
        Kind.UN16,
        Device.BMV,
        f"{_V} VE_REG_TTG",
        unit="min",
        not_available=_NA16,
    ),
    _reg(
        0x0FFF,
        "soc",
        "State of charge",
        Kind.UN16,
        Device.BMV,
        f"{_V} VE_REG_SOC",
        unit="%",
        scale=0.01,
        not_available=_NA16,
    ),
    _reg(
        0x1000,
        "battery_capacity",
        "Battery capacity",
        Kind.UN16,
        Device.BMV,
        f"{_V} VE_REG_BATTERY_CAPACITY",
        unit="Ah",
        writable=True,
    ),
    _reg(
        0x102C,
        "synchronize",
        "Synchronise (SOC to 100 %)",
        Kind.COMMAND,
        Device.BMV,
        f"{_V} VE_REG_SYNCHRONIZE (no payload)",
        writable=True,
    ),
    _reg(
        0xEEB6,
        "synchronized",
        "Synchronised",
        Kind.UN8,
        Device.BMV,
        f"{_V} VE_REG_BMV_SYNCHRONIZED",
        options={0: "not_synchronized", 1: "synchronized"},
    ),
    # history ([BlueSolar] "History data"; [velib] VE_REG_HISTORY_TOTAL / _DAY00.._DAY30)
    _reg(HISTORY_TOTAL, "history_total", "History total", Kind.BYTES, Device.MPPT, _V),
    *(
        _reg(
            HISTORY_DAY_FIRST + day,
            f"history_day_{day:02d}",
            "History today" if day == 0 else f"History {day} days ago",
            Kind.BYTES,
            Device.MPPT,
            f"{_V} VE_REG_HISTORY_DAY{day:02d}",
        )
        for day in range(HISTORY_DAY_LAST - HISTORY_DAY_FIRST + 1)
    ),
    # Phoenix inverter ([Phoenix] "Inverter register description"; [velib])
    _reg(
        0x2200,
        "ac_out_voltage",
        "AC output voltage",
        Kind.SN16,
        Device.INVERTER,
        f"{_V} VE_REG_AC_OUT_VOLTAGE",
        unit="V",
        scale=0.01,
        not_available=_S16_NA,
    ),
    _reg(
        0x2201,
        "ac_out_current",
        "AC output current",
        Kind.SN16,
        Device.INVERTER,
        f"{_V} VE_REG_AC_OUT_CURRENT",
        unit="A",
        scale=0.1,
        not_available=_S16_NA,
    ),
    _reg(
        0x2205,
        "ac_out_apparent_power",
        "AC output apparent power",
        Kind.SN32,
        Device.INVERTER,
        f"{_V} VE_REG_AC_OUT_APPARENT_POWER",
        unit="VA",
        not_available=_S32_NA,
    ),
    _reg(
        0x2210,
        "shutdown_low_voltage",
        "Shutdown on low voltage",
        Kind.UN16,
        Device.INVERTER,
        f"{_V} VE_REG_SHUTDOWN_LOW_VOLTAGE_SET",
        unit="V",
        scale=0.01,
        writable=True,
        minimum_register=0x2211,
        maximum_register=0x2212,
    ),
    _reg(
        0x2211,
        "voltage_range_min",
        "Minimum DC voltage (settings range)",
        Kind.UN16,
        Device.INVERTER,
        f"{_V} VE_REG_VOLTAGE_RANGE_MIN",
        unit="V",
        scale=0.01,
    ),
    _reg(
        0x2212,
        "voltage_range_max",
        "Maximum DC voltage (settings range)",
        Kind.UN16,
        Device.INVERTER,
        f"{_V} VE_REG_VOLTAGE_RANGE_MAX",
        unit="V",
        scale=0.01,
    ),
    # DC channel 1: the battery side ([velib]; async in the 150/70 and IP22 captures)
    _reg(
        0xED8C,
        "battery_current_ma",
        "Battery current",
        Kind.SN32,
        Device.BMV,
        f"{_V} VE_REG_DC_CHANNEL1_CURRENT_MA",
        unit="A",
        scale=0.001,
        not_available=_S32_NA,
    ),
    _reg(
        0xED8D,
        "battery_voltage",
        "Battery voltage",
        Kind.SN16,
        _ALL,
        f"{_V} VE_REG_DC_CHANNEL1_VOLTAGE",
        unit="V",
        scale=0.01,
        not_available=_S16_NA,
    ),
    _reg(
        0xED8E,
        "battery_power",
        "Battery power",
        Kind.SN16,
        Device.BMV,
        f"{_V} VE_REG_DC_CHANNEL1_POWER",
        unit="W",
        not_available=_S16_NA,
    ),
    _reg(
        0xED8F,
        "battery_current",
        "Battery current",
        Kind.SN16,
        _ALL,
        f"{_V} VE_REG_DC_CHANNEL1_CURRENT",
        unit="A",
        scale=0.1,
        not_available=_S16_NA,
    ),
    # load output ([BlueSolar] "Load output"; [velib])
    _reg(
        0xEDA8,
        "load_output_state",
        "Load output state",
        Kind.UN8,
        Device.MPPT,
        f"{_V} VE_REG_DC_OUTPUT_STATUS",
        options=LOAD_OUTPUT_STATES,
    ),
    _reg(
        0xEDAB,
        "load_output_control",
        "Load output control",
        Kind.UN8,
        Device.MPPT,
        f"{_V} VE_REG_DC_OUTPUT_CONTROL; BlueSolar HEX document",
        writable=True,
        options=LOAD_OUTPUT_CONTROL,
    ),
    _reg(
        0xEDAD,
        "load_current",
        "Load current",
        Kind.UN16,
        Device.MPPT,
        f"{_V} VE_REG_DC_OUTPUT_CURRENT",
        unit="A",
        scale=0.1,
        not_available=_NA16,
    ),
    # solar input ([BlueSolar] "Solar panel data"; [velib])
    _reg(
        0xEDB3,
        "tracker_mode",
        "Tracker mode",
        Kind.UN8,
        Device.MPPT,
        f"{_V} VE_REG_DC_INPUT_MPP_MODE",
        options={0: "off", 1: "limited", 2: "active"},
    ),
    _reg(
        0xEDB4,
        "mpp_power",
        "MPP power",
        Kind.UN32,
        Device.MPPT,
        f"{_V} VE_REG_DC_INPUT_MPP_POWER",
        unit="W",
        scale=0.01,
        not_available=_NA32,
    ),
    _reg(
        0xEDB5,
        "mpp_voltage",
        "MPP voltage",
        Kind.UN16,
        Device.MPPT,
        f"{_V} VE_REG_DC_INPUT_MPP_VOLTAGE",
        unit="V",
        scale=0.01,
        not_available=_NA16,
    ),
    _reg(
        0xEDB8,
        "panel_maximum_voltage",
        "Panel maximum voltage",
        Kind.UN16,
        Device.MPPT,
        f"{_V} VE_REG_DC_INPUT_MAX_VOLTAGE",
        unit="V",
        scale=0.01,
        not_available=_NA16,
    ),
    _reg(
        0xEDBB,
        "panel_voltage",
        "Panel voltage",
        Kind.UN16,
        Device.MPPT,
        f"{_V} VE_REG_DC_INPUT_VOLTAGE",
        unit="V",
        scale=0.01,
        not_available=_NA16,
    ),
    _reg(
        0xEDBC,
        "panel_power",
        "Panel power",
        Kind.UN32,
        Device.MPPT,
        f"{_V} VE_REG_DC_INPUT_POWER",
        unit="W",
        scale=0.01,
        not_available=_NA32,
    ),
    _reg(
        0xEDBD,
        "panel_current",
        "Panel current",
        Kind.UN16,
        Device.MPPT,
        f"{_V} VE_REG_DC_INPUT_CURRENT",
        unit="A",
        scale=0.1,
        not_available=_NA16,
    ),
    # charger ([BlueSolar] "Charger data"; [velib] VE_REG_CHR_*)
    _reg(
        0xEDC8,
        "charger_minimum_current",
        "Charger minimum current",
        Kind.UN16,
        _CHARGERS,
        f"{_V} VE_REG_CHR_MIN_CURRENT (absent = 0 A)",
        unit="A",
        scale=0.1,
    ),
    *(
        _reg(
            register,
            key,
            name,
            Kind.UN16,
            Device.MPPT,
            f"{_V} VE_REG_{velib} (un16 on VE.Direct, un32 on VE.Can)",
            unit=unit,
            scale=scale,
            sizes=(2, 4),
        )
        for register, key, name, unit, scale, velib in (
            (
                0xEDD0,
                "max_power_yesterday",
                "Maximum power yesterday",
                "W",
                1,
                "CHR_YESTERDAY_PMAX",
            ),
            (0xEDD1, "yield_yesterday", "Yield yesterday", "kWh", 0.01, "CHR_YESTERDAY_YIELD"),
            (0xEDD2, "max_power_today", "Maximum power today", "W", 1, "CHR_TODAY_PMAX"),
            (0xEDD3, "yield_today", "Yield today", "kWh", 0.01, "CHR_TODAY_YIELD"),
        )
    ),
    _reg(
        0xEDD5,
        "charger_voltage",
        "Charger voltage",
        Kind.UN16,
        _CHARGERS,
        f"{_V} VE_REG_CHR_VOLTAGE",
        unit="V",
        scale=0.01,
        not_available=_NA16,
    ),
    _reg(
        0xEDD7,
        "charger_current",
        "Charger current",
        Kind.SN16,
        _CHARGERS,
        f"{_V} VE_REG_CHR_CURRENT (sn16)",
        unit="A",
        scale=0.1,
        not_available=_S16_NA,
    ),
    _reg(
        0xEDDA,
        "charger_error",
        "Charger error",
        Kind.UN8,
        _CHARGERS,
        f"{_V} VE_REG_CHR_ERROR_CODE; protocols.md §1.7 ERR",
    ),
    _reg(
        0xEDDB,
        "charger_temperature",
        "Charger internal temperature",
        Kind.SN16,
        _CHARGERS,
        f"{_V} VE_REG_CHR_TEMPERATURE",
        unit="°C",
        scale=0.01,
        not_available=_S16_NA,
    ),
    _reg(
        0xEDDC,
        "user_yield",
        "User yield (resettable)",
        Kind.UN32,
        Device.MPPT,
        f"{_V} VE_REG_CHR_USER_YIELD",
        unit="kWh",
        scale=0.01,
        not_available=_NA32,
    ),
    _reg(
        0xEDDD,
        "system_yield",
        "System yield",
        Kind.UN32,
        Device.MPPT,
        f"{_V} VE_REG_CHR_SYSTEM_YIELD",
        unit="kWh",
        scale=0.01,
        not_available=_NA32,
    ),
    _reg(
        0xEDDF,
        "charger_maximum_current",
        "Charger maximum current",
        Kind.UN16,
        _CHARGERS,
        f"{_V} VE_REG_CHR_MAX_CURRENT (0.1 A; go-iotdevice agrees)",
        unit="A",
        scale=0.1,
        not_available=_NA16,
    ),
    _reg(
        0xEDEC,
        "battery_temperature",
        "Battery temperature",
        Kind.UN16,
        _CHARGERS,
        f"{_V} VE_REG_BAT_TEMPERATURE (0.01 K)",
        unit="°C",
        scale=0.01,
        offset=-273.15,
        not_available=_NA16,
    ),
    _reg(
        0xEDEF,
        "battery_system_voltage",
        "Battery voltage setting in use",
        Kind.UN8,
        _CHARGERS,
        f"{_V} VE_REG_BAT_VOLTAGE",
        unit="V",
    ),
    _reg(
        0xEDF0,
        "battery_maximum_current",
        "Battery maximum current",
        Kind.UN16,
        _CHARGERS,
        f"{_V} VE_REG_BAT_MAX_CURRENT; BlueSolar HEX document",
        unit="A",
        scale=0.1,
        writable=True,
        minimum=0,
        minimum_register=0xEDC8,
        maximum_register=0xEDDF,
        not_available=_NA16,
    ),
)

REGISTERS: Final[Mapping[int, Register]] = {entry.register: entry for entry in _TABLE}
"""The register table, by register number (see :class:`Register`)."""


def history_day_register(days_ago: int) -> int:
    """The history register of ``days_ago`` (0 = today .. 30): 0x1050 + days_ago ([velib]).

    Raises ValueError outside 0..30.
    """
    if not 0 <= days_ago <= HISTORY_DAY_LAST - HISTORY_DAY_FIRST:
        raise ValueError(f"history days go back 0..30 days, got {days_ago}")
    return HISTORY_DAY_FIRST + days_ago


# --- values ---------------------------------------------------------------------------------------


def _entry(register: int) -> Register:
    entry = REGISTERS.get(register)
    if entry is None:
        raise HexValueError(f"register 0x{register:04X} is not in the table")
    return entry


def _raw_range(entry: Register) -> tuple[int, int]:
    bits = 8 * entry.sizes[0]
    if entry.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def decode_value(register: int, data: bytes) -> float | int | str | bytes | None:
    """Decode a register's raw value bytes (a Get/Set/Async ``HexMessage.data``) to SI units.

    Numbers: ``raw * scale + offset`` in the register's unit, an int when the scale is 1 and there
    is no offset, else a float rounded to the register's resolution; the register's
    ``not_available`` raw value gives None. Strings: the ASCII text without its NUL padding.
    Records (:attr:`Kind.BYTES`): the bytes as they are (see :func:`decode_history_day`,
    :func:`decode_product_id`, :func:`decode_firmware`). Commands: None.

    Raises :class:`HexValueError` for a register not in the table or data of a length the register
    does not have.
    """
    entry = _entry(register)
    data = bytes(data)
    kind = entry.kind
    if kind is Kind.BYTES:
        return data
    if kind is Kind.COMMAND:
        if data:
            raise HexValueError(f"register 0x{register:04X} is a command and has no value")
        return None
    if kind is Kind.STRING:
        return data.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
    if len(data) not in entry.sizes:
        raise HexValueError(
            f"register 0x{register:04X} ({entry.kind.value}) has {entry.sizes} bytes, "
            f"got {len(data)}"
        )
    raw = int.from_bytes(data, "little", signed=entry.signed)
    if raw == entry.not_available:
        return None
    if entry.scale == 1 and not entry.offset:
        return raw
    return round(raw * entry.scale + entry.offset, entry.digits)


def encode_value(register: int, value: float | str | bytes | None) -> bytes:
    """Encode a value in SI units to the register's raw little-endian bytes (inverse of decode).

    Numbers are scaled back (``round((value - offset) / scale)``) and checked against the raw type's
    range, the register's documented ``minimum``/``maximum`` and, for enum registers, its
    ``options``; strings are ASCII; records pass through as bytes; a command takes None.

    Raises :class:`HexValueError` for a register not in the table, a value of the wrong type, a
    non-finite number or one out of range.
    """
    entry = _entry(register)
    kind = entry.kind
    if kind is Kind.COMMAND:
        if value is not None:
            raise HexValueError(f"register 0x{register:04X} is a command: pass None")
        return b""
    if kind is Kind.BYTES:
        if not isinstance(value, bytes | bytearray):
            raise HexValueError(f"register 0x{register:04X} takes raw bytes")
        return bytes(value)
    if kind is Kind.STRING:
        if not isinstance(value, str) or not value.isascii():
            raise HexValueError(f"register 0x{register:04X} takes ASCII text")
        return value.encode("ascii")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))  # an int is always finite
    ):
        raise HexValueError(f"register 0x{register:04X} takes a finite number, got {value!r}")
    if isinstance(value, int) and value.bit_length() > 64:  # beyond every raw type (and str())
        raise HexValueError(f"a {value.bit_length()}-bit number does not fit in {entry.key}")
    if entry.minimum is not None and value < entry.minimum:
        raise HexValueError(f"{value} is below the minimum {entry.minimum} of {entry.key}")
    if entry.maximum is not None and value > entry.maximum:
        raise HexValueError(f"{value} is above the maximum {entry.maximum} of {entry.key}")
    try:
        raw = round((value - entry.offset) / entry.scale)
    except OverflowError:  # a quotient that overflows to infinity (1e308 / 0.1)
        raise HexValueError(f"{value} does not fit in {entry.key} ({entry.kind.value})") from None
    low, high = _raw_range(entry)
    if not low <= raw <= high or raw == entry.not_available:
        raise HexValueError(f"{value} does not fit in {entry.key} ({entry.kind.value})")
    if entry.options is not None and raw not in entry.options:
        raise HexValueError(f"{raw} is not one of the codes of {entry.key}")
    return raw.to_bytes(entry.sizes[0], "little", signed=entry.signed)


def set_value(register: int, value: float | str | bytes | None) -> bytes:
    r"""Build the Set line for a *writable* register from a value in SI units.

    ``set_value(0xEDAB, 4) == b":8ABED0004B1\n"`` switches an MPPT's load output on;
    ``set_value(0xEDF0, 10.0) == b":8F0ED0064000C\n"``. The device's own limits (e.g. 0xEDDF for
    0xEDF0) are the caller's to read and check first. Raises :class:`HexValueError` for a
    read-only register or a value :func:`encode_value` refuses.
    """
    entry = _entry(register)
    if not entry.writable:
        raise HexValueError(f"register 0x{register:04X} ({entry.key}) is read-only")
    return set(register, encode_value(register, value))


# --- records --------------------------------------------------------------------------------------


def _u(data: bytes, offset: int, size: int, not_available: bool = True) -> int | None:
    raw = int.from_bytes(data[offset : offset + size], "little")
    return None if not_available and raw == (1 << (8 * size)) - 1 else raw


def _scaled(raw: int | None, scale: float, digits: int) -> float | None:
    return None if raw is None else round(raw * scale, digits)


@dataclass(frozen=True, slots=True)
class HistoryDay:
    """One day of an MPPT's history (registers 0x1050..0x106E), in SI units; None = not available.

    Layout ([velib] VE_REG_HISTORY_DAY00, [BlueSolar] "History data"), little-endian::

        0 un8 version | 1 un32 yield 0.01 kWh | 5 un32 consumed 0.01 kWh | 9 un16 battery V max
        0.01 V | 11 un16 battery V min 0.01 V | 13 un8 error database | 14..17 un8 errors 0..3 |
        18 un16 bulk min | 20 un16 absorption min | 22 un16 float min | 24 un32 max power W |
        28 un16 battery current max 0.1 A | 30 un16 panel voltage max 0.01 V | 32 un16 day sequence
    """

    version: int
    yield_kwh: float | None
    consumed_kwh: float | None
    max_battery_voltage_v: float | None
    min_battery_voltage_v: float | None
    error_database: int | None
    error_codes: tuple[int, int, int, int]
    time_bulk_min: int | None
    time_absorption_min: int | None
    time_float_min: int | None
    max_power_w: int | None
    max_battery_current_a: float | None
    max_pv_voltage_v: float | None
    day_sequence: int


def decode_history_day(data: bytes) -> HistoryDay:
    """Decode a history day record (the value of a 0x1050..0x106E Get response or Async message).

    ``data`` is ``HexMessage.data`` (34 bytes; longer records keep the documented first 34). Raw
    all-ones values ("Not Available", [velib]) decode as None. ``error_codes`` are the charger
    error codes of that day (protocols.md §1.7 ERR; 0 = none). Raises :class:`HexValueError` for
    fewer than 34 bytes.
    """
    data = bytes(data)
    if len(data) < HISTORY_DAY_LEN:
        raise HexValueError(f"a history day has {HISTORY_DAY_LEN} bytes, got {len(data)}")
    sequence = _u(data, 32, 2, not_available=False)
    assert sequence is not None  # not_available=False never gives None
    return HistoryDay(
        version=data[0],
        yield_kwh=_scaled(_u(data, 1, 4), 0.01, 2),
        consumed_kwh=_scaled(_u(data, 5, 4), 0.01, 2),
        max_battery_voltage_v=_scaled(_u(data, 9, 2), 0.01, 2),
        min_battery_voltage_v=_scaled(_u(data, 11, 2), 0.01, 2),
        error_database=_u(data, 13, 1),
        error_codes=(data[14], data[15], data[16], data[17]),
        time_bulk_min=_u(data, 18, 2),
        time_absorption_min=_u(data, 20, 2),
        time_float_min=_u(data, 22, 2),
        max_power_w=_u(data, 24, 4),
        max_battery_current_a=_scaled(_u(data, 28, 2), 0.1, 1),
        max_pv_voltage_v=_scaled(_u(data, 30, 2), 0.01, 2),
        day_sequence=sequence,
    )


@dataclass(frozen=True, slots=True)
class HistoryTotal:
    """An MPPT's history total (register 0x104F) in SI units; None = not available.

    Layout ([velib] VE_REG_HISTORY_TOTAL)::

        0 un8 version | 1 un8 error database | 2..5 un8 errors 0..3 | 6 un32 total yield user
        0.01 kWh | 10 un32 total yield system 0.01 kWh | 14 un16 panel voltage max 0.01 V |
        16 un16 battery voltage max 0.01 V | 18 un8 number of available days
    """

    version: int
    error_database: int | None
    error_codes: tuple[int, int, int, int]
    yield_user_kwh: float | None
    yield_system_kwh: float | None
    max_pv_voltage_v: float | None
    max_battery_voltage_v: float | None
    days_available: int


def decode_history_total(data: bytes) -> HistoryTotal:
    """Decode the 0x104F history total record; the bytes after the documented 19 are ignored.

    Raises :class:`HexValueError` for fewer than 19 bytes.
    """
    data = bytes(data)
    if len(data) < HISTORY_TOTAL_LEN:
        raise HexValueError(f"the history total has {HISTORY_TOTAL_LEN} bytes, got {len(data)}")
    return HistoryTotal(
        version=data[0],
        error_database=_u(data, 1, 1),
        error_codes=(data[2], data[3], data[4], data[5]),
        yield_user_kwh=_scaled(_u(data, 6, 4), 0.01, 2),
        yield_system_kwh=_scaled(_u(data, 10, 4), 0.01, 2),
        max_pv_voltage_v=_scaled(_u(data, 14, 2), 0.01, 2),
        max_battery_voltage_v=_scaled(_u(data, 16, 2), 0.01, 2),
        days_available=data[18],
    )


def decode_product_id(data: bytes) -> int | None:
    """The product id in the value of register 0x0100 (or the data of the Product id command).

    [velib] VE_REG_PRODUCT_ID: ``un8 identifier, un16 product id, un8 flags``, and "the ve.direct
    mppt chargers report this field incorrectly as an un16 with the product id in big-endian". So
    both byte orders are tried: the one that names a known model (PID_MODELS, protocols.md §1.8)
    wins, little-endian first; with neither known, the little-endian reading. A 2-byte value is the
    product id alone. Returns None for any other length. Unconfirmed by a capture.
    """
    data = bytes(data)
    if len(data) == 2:
        pid = data
    elif len(data) in (3, 4):
        pid = data[1:3]
    else:
        return None
    little = int.from_bytes(pid, "little")
    big = int.from_bytes(pid, "big")
    if little not in PID_MODELS and big in PID_MODELS:
        return big
    return little


def decode_firmware(data: bytes) -> str | None:
    """The firmware version in the value of register 0x0102, e.g. ``"3.16"`` or ``"1.39"``.

    [velib] VE_REG_APP_VER: ``un8 identifier, un24 version 0xHHMMLL``; HH == 0: a 16-bit version,
    "vMM.LL"; else "vHH.MM" when LL == 0xFF (a release), "vHH.MM-beta-LL" otherwise; 0xFFFFFF = no
    firmware (None). Accepts 4 bytes (identifier first), 3 bytes (the version alone) or 2 bytes
    (a 16-bit version). Digits print as hex, as the TEXT ``FW``/``FWE`` fields show them
    (``FWE 316FF`` = 3.16). Returns None for other lengths. Unconfirmed by a capture.
    """
    data = bytes(data)
    if len(data) == 4:
        data = data[1:]
    if len(data) not in (2, 3):
        return None
    version = int.from_bytes(data, "little")
    if version == 0xFFFFFF:
        return None
    high, middle, low = version >> 16, version >> 8 & 0xFF, version & 0xFF
    if not high:
        return f"{middle:X}.{low:02X}"
    if low == 0xFF:
        return f"{high:X}.{middle:02X}"
    return f"{high:X}.{middle:02X}-beta-{low:02X}"

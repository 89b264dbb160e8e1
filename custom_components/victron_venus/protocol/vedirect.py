r"""VE.Direct TEXT protocol parser: bytes in, verified records in SI units out (sans-I/O).

Facts come from ../shared/reference/protocols.md section 1 (cited as "§1.x") and from the
byte-exact captures of §1.9; tests/protocol/test_vedirect.py runs on every one of them.

One parser per serial port (so per device)::

    parser = VEDirectParser()
    for record in parser.feed(chunk):  # any chunking gives the same records
        record.fields  # {"V": "12282", "SOC": "916", ...}  raw text as sent
        record.values  # {"V": 12.282, "SOC": 91.6, ...}    SI units, HA unit names (LABELS)

Stream semantics. They are exact: the tests run a byte-at-a-time reference machine with these
rules against the parser on captures, cut-up captures and random bytes.

* HEX frames (§1.4). A ``:`` starts a HEX frame anywhere except as the value byte of a
  ``Checksum`` field. The frame runs to the next ``\n``, at most :data:`MAX_HEX_FRAME` bytes
  (else it is abandoned as bad). HEX frames are cut out of the text stream before anything else
  looks at it, and the text state carries on across the frame (giacinti's save/restore, §1.4), so
  a block that a device interrupts with a HEX frame still verifies. Frames are checked (hex
  digits; command nibble + data bytes + check byte == 0x55 mod 256) and counted in
  ``hex_frames`` or ``hex_checksum_errors``; their content is not decoded here: the good ones
  wait in :attr:`VEDirectParser.hex_lines` for a HEX decoder.
* Blocks (§1.1, §1.2). Between blocks, bytes are noise until a ``\r\n``. A block runs from that
  ``\r\n`` through the first ``\r\nChecksum\t`` and EXACTLY one byte after it, whatever that byte
  is (``:`` and ``\r`` occur in real captures). ``Checksum`` is matched as every device sends it,
  case-sensitively like every label. A block is good when the sum of all its bytes is 0 mod 256,
  its first field starts with a good label (1 to :data:`MAX_LABEL` printable ASCII bytes, no
  space) and a tab, and it has at most :data:`MAX_FIELDS` fields. A later field that is not a
  good label, a tab and at most :data:`MAX_VALUE` printable ASCII bytes is left out of
  ``fields``; the rest of the block is kept. A block that cannot end within :data:`MAX_BLOCK`
  bytes is dropped and the parser resyncs, so memory stays bounded whatever comes in.
* Bad input never raises: it is counted and dropped. The first block after start-up,
  :meth:`VEDirectParser.reset` or a resync is usually a fragment (the stream starts mid-block,
  §1.10 item 5); when it fails its checksum its bytes count as ``bytes_discarded``, not as a
  checksum error.

Records (§1.3). A device may split one record over several checksummed blocks: BMV main
``PID..FW`` then history ``H1..H18``, SmartShunt the other way round, SmartSolar 150/70 rev3
``PID..OR`` then ``ERR..HSDS``. A block's *kind* is its first label. The parser keeps the latest
good block of each kind and emits a record for EVERY good block: the fields of those blocks
merged, oldest first (the newest wins a label two kinds share; no known device does that). So a
record is as fresh as the last block (about one a second), never waits for a "complete" set, and
holds everything verified so far: once a BMV has sent both blocks, every record has V and H7. A
block whose first line is another ``PID`` than the device's last one means another device on the
port: the kinds held so far are dropped. (A new ``SER#`` under the same PID is the same model; its
blocks replace the old ones within a cycle.) The Home Assistant side keeps the latest record.

Work (scripts/benchmarks/vedirect.py). :meth:`VEDirectParser.feed` cuts the HEX frames out, then
frames, verifies and classifies the blocks: bytes methods find them and ``sum`` checks them. A
record splits its blocks into fields and decodes them when first read (each block once, however
many records hold it), through bounded memos of the lines and values that repeat.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
import re
from typing import Final, NamedTuple

from .vedirect_pids import PID_MODELS

__all__ = [
    "ALARM_REASONS",
    "CS_STATES",
    "ENUM_OPTIONS",
    "ERR_CODES",
    "LABELS",
    "MAX_BLOCK",
    "MAX_FIELDS",
    "MAX_HEX_FRAME",
    "MAX_HEX_LINES",
    "MAX_KINDS",
    "MAX_LABEL",
    "MAX_VALUE",
    "MODES",
    "MON_MODES",
    "MPPT_MODES",
    "OFF_REASONS",
    "LabelSpec",
    "VEDirectParser",
    "VEDirectRecord",
    "decode_value",
    "model_for_pid",
]

# --- limits (§1.1: labels up to 8 characters, values up to 32, about 22 fields a block) -----------

MAX_LABEL: Final = 9
"""Longest label accepted, in bytes (Victron's framehandler keeps 9 with the NUL, §1.1)."""
MAX_VALUE: Final = 33
"""Longest value accepted, in bytes (33 with the NUL in the framehandler, §1.1)."""
MAX_FIELDS: Final = 40
"""Most fields accepted in one block (devices send up to about 22, §1.1)."""
MAX_BLOCK: Final = 2048
"""Longest block accepted, in bytes from its CR LF through the checksum byte (40 fields: 1813)."""
MAX_HEX_FRAME: Final = 512
r"""Longest HEX frame accepted, ``:`` through ``\n`` (history frames, the longest, are ~113)."""
MAX_HEX_LINES: Final = 64
"""Good HEX frames :attr:`VEDirectParser.hex_lines` keeps for a reader (the oldest go first)."""
MAX_KINDS: Final = 8
"""Most kinds of block held per device (devices send one or two, §1.3)."""
LINE_CACHE_SIZE: Final = 4096
"""Field lines parsed, and values decoded, that are remembered (each memo is cleared when full)."""

_CRLF: Final = b"\r\n"
_MARKER: Final = b"\r\nChecksum\t"
_MARKER_LEN: Final = len(_MARKER)  # 11: the checksum byte is at marker + 11
_MARKER_SUM: Final = sum(_MARKER)
# a block's CR LF, first label (1 to MAX_LABEL printable ASCII bytes but space) and tab: its head
_FIRST_LABEL = re.compile(rb"\r\n[!-~]{1,%d}\t" % MAX_LABEL).match
_HEX_DIGITS: Final = frozenset(b"0123456789ABCDEFabcdef")


# --- code tables (§1.7): snake_case names, ready to be Home Assistant enum options ----------------

CS_STATES: Final[dict[int, str]] = {
    0: "off",
    1: "low_power",
    2: "fault",
    3: "bulk",
    4: "absorption",
    5: "float",
    6: "storage",
    7: "equalize",
    8: "passthru",
    9: "inverting",
    10: "assisting",
    11: "power_supply",
    244: "sustain",
    245: "starting_up",
    246: "repeated_absorption",
    247: "auto_equalize",
    248: "battery_safe",
    252: "external_control",
}
"""``CS``, state of operation (§1.7; Venus ``solarcharger/<n>/State`` uses the same codes).

247 is "auto equalize / recondition".
"""

ERR_CODES: Final[dict[int, str]] = {
    0: "no_error",
    2: "battery_voltage_too_high",
    17: "charger_temperature_too_high",
    18: "charger_over_current",
    19: "charger_current_reversed",
    20: "bulk_time_limit_exceeded",
    21: "current_sensor_issue",
    26: "terminals_overheated",
    28: "converter_issue",
    33: "input_voltage_too_high",
    34: "input_current_too_high",
    38: "input_shutdown_battery_voltage",
    39: "input_shutdown_current_flow",
    65: "lost_communication",
    66: "synchronised_charging_configuration",
    67: "bms_connection_lost",
    68: "network_misconfigured",
    116: "factory_calibration_data_lost",
    117: "invalid_firmware",
    119: "user_settings_invalid",
}
"""``ERR``, charger error (§1.7).

Codes without a documented meaning decode to None; the raw code stays in ``fields``.
"""

MPPT_MODES: Final[dict[int, str]] = {0: "off", 1: "limited", 2: "active"}
"""``MPPT``, tracker mode (§1.7): off, voltage or current limited, MPP tracker active."""

MODES: Final[dict[int, str]] = {
    0: "off",
    1: "charger",
    2: "inverter",
    3: "on",
    4: "off",
    5: "eco",
    253: "hibernate",
}
"""``MODE``, device mode (§1.7; krahabb ENUM_DEVICE_MODE also names 0 "off")."""

MON_MODES: Final[dict[int, str]] = {
    -9: "solar_charger",
    -8: "wind_turbine",
    -7: "shaft_generator",
    -6: "alternator",
    -5: "fuel_cell",
    -4: "water_generator",
    -3: "dc_dc_charger",
    -2: "ac_charger",
    -1: "generic_source",
    0: "battery_monitor",
    1: "generic_load",
    2: "electric_drive",
    3: "fridge",
    4: "water_pump",
    5: "bilge_pump",
    6: "dc_system",
    7: "inverter",
    8: "water_heater",
}
"""``MON``, DC monitor mode (§1.7)."""

OFF_REASONS: Final[dict[int, str]] = {
    0x001: "no_input_power",
    0x002: "switched_off_switch",
    0x004: "switched_off_register",
    0x008: "remote_input",
    0x010: "protection_active",
    0x020: "paygo",
    0x040: "bms",
    0x080: "engine_shutdown",
    0x100: "analysing_input_voltage",
    0x200: "battery_temperature",
}
"""``OR``, off reason bits (§1.7; the field is 32-bit hex, e.g. ``0x00000009``)."""

ALARM_REASONS: Final[dict[int, str]] = {
    1: "low_voltage",
    2: "high_voltage",
    4: "low_soc",
    8: "low_starter_voltage",
    16: "high_starter_voltage",
    32: "low_temperature",
    64: "high_temperature",
    128: "mid_voltage",
    256: "overload",
    512: "dc_ripple",
    1024: "low_ac_out_voltage",
    2048: "high_ac_out_voltage",
    4096: "short_circuit",
    8192: "bms_lockout",
}
"""``AR`` and ``WARN``, alarm / warning reason bits (§1.7; the fields are decimal)."""

ENUM_OPTIONS: Final[dict[str, list[str]]] = {
    label: list(dict.fromkeys(table.values()))
    for label, table in (
        ("CS", CS_STATES),
        ("ERR", ERR_CODES),
        ("MPPT", MPPT_MODES),
        ("MODE", MODES),
        ("MON", MON_MODES),
    )
}
"""Every option an enum label decodes to, without duplicates: ``options`` of an HA enum sensor."""


# --- value decoders: raw text -> value; never raise; None when the text does not fit --------------

_DECIMAL = re.compile(r"-?[0-9]+").fullmatch
_HEX32 = re.compile(r"0[xX][0-9a-fA-F]{1,8}").fullmatch


def _int(raw: str) -> int | None:
    """A decimal integer (optionally negative), or None."""
    return int(raw) if _DECIMAL(raw) else None


def _scaled(divisor: int) -> Callable[[str], float | None]:
    """An integer over a power of ten; true division keeps the resolution (12282 -> 12.282)."""

    def decode(raw: str) -> float | None:
        return int(raw) / divisor if _DECIMAL(raw) else None

    return decode


def _text(raw: str) -> str:
    return raw


def _hex(raw: str) -> int | None:
    """``0x``-prefixed hex (PID ``0xA381``, short form ``0x203``), or None."""
    return int(raw, 16) if _HEX32(raw) else None


_ON_OFF: Final = {"ON": True, "OFF": False}


def _on_off(raw: str) -> bool | None:
    return _ON_OFF.get(raw.upper())


def _ttg(raw: str) -> int | None:
    """Time to go in minutes; -1 means infinite (not discharging) and decodes to None (§1.6)."""
    value = _int(raw)
    return None if value is None or value < 0 else value


def _enum(table: Mapping[int, str]) -> Callable[[str], str | None]:
    def decode(raw: str) -> str | None:
        code = _int(raw)
        return None if code is None else table.get(code)

    return decode


def _bits(mask: int, table: Mapping[int, str]) -> tuple[str, ...]:
    names: list[str] = []
    bit = 0
    while mask:
        if mask & 1:
            names.append(table.get(1 << bit, f"unknown_bit_{bit}"))
        mask >>= 1
        bit += 1
    return tuple(names)


def _alarm_bits(raw: str) -> tuple[str, ...] | None:
    mask = _int(raw)
    return None if mask is None or mask < 0 else _bits(mask, ALARM_REASONS)


def _off_bits(raw: str) -> tuple[str, ...] | None:
    mask = _hex(raw)
    return None if mask is None else _bits(mask, OFF_REASONS)


def _fw(raw: str) -> str | None:
    """16-bit firmware ``0308`` / ``139`` -> ``3.08`` / ``1.39`` (a dot before the last 2, §1.6)."""
    if len(raw) < 3 or not raw.isascii() or not raw.isalnum():
        return None
    return f"{raw[:-2].lstrip('0') or '0'}.{raw[-2:]}"


def _fwe(raw: str) -> str | None:
    """24-bit firmware ``316FF`` -> ``3.16``; ``3.16-beta04`` when the last byte is not FF."""
    if len(raw) < 5 or not raw.isascii() or not raw.isalnum():
        return None
    version = _fw(raw[:-2])
    suffix = raw[-2:].upper()
    return version if suffix == "FF" or version is None else f"{version}-beta{suffix}"


class LabelSpec(NamedTuple):
    """How one VE.Direct label decodes; ``unit`` is Home Assistant's unit name (None: none)."""

    unit: str | None
    decode: Callable[[str], object]
    description: str


_mV = _scaled(1000)  # mV -> V, mA -> A, mAh -> Ah
_permille = _scaled(10)  # per mille -> %, 0.1 A -> A
_centi = _scaled(100)  # 0.01 V -> V, 0.01 kWh -> kWh

LABELS: Final[dict[str, LabelSpec]] = {
    "V": LabelSpec("V", _mV, "main or channel 1 battery voltage"),
    "V2": LabelSpec("V", _mV, "channel 2 battery voltage"),
    "V3": LabelSpec("V", _mV, "channel 3 battery voltage"),
    "VS": LabelSpec("V", _mV, "auxiliary (starter) voltage"),
    "VM": LabelSpec("V", _mV, "mid-point voltage"),
    "DM": LabelSpec("%", _permille, "mid-point deviation"),
    "VPV": LabelSpec("V", _mV, "panel voltage"),
    "PPV": LabelSpec("W", _int, "panel power"),
    "I": LabelSpec("A", _mV, "main or channel 1 battery current, + = charging"),
    "I2": LabelSpec("A", _mV, "channel 2 battery current"),
    "I3": LabelSpec("A", _mV, "channel 3 battery current"),
    "IL": LabelSpec("A", _mV, "load output current"),
    "LOAD": LabelSpec(None, _on_off, "load output on"),
    "T": LabelSpec("°C", _int, "battery temperature"),
    "P": LabelSpec("W", _int, "instantaneous power, + = charging"),
    "CE": LabelSpec("Ah", _mV, "consumed amp hours (negative)"),
    "SOC": LabelSpec("%", _permille, "state of charge"),
    "TTG": LabelSpec("min", _ttg, "time to go; None when infinite (-1, not discharging)"),
    "Alarm": LabelSpec(None, _on_off, "alarm condition active"),
    "Relay": LabelSpec(None, _on_off, "relay closed"),
    "AR": LabelSpec(None, _alarm_bits, "alarm reasons (ALARM_REASONS names)"),
    "OR": LabelSpec(None, _off_bits, "off reasons (OFF_REASONS names)"),
    "H1": LabelSpec("Ah", _mV, "depth of the deepest discharge"),
    "H2": LabelSpec("Ah", _mV, "depth of the last discharge"),
    "H3": LabelSpec("Ah", _mV, "depth of the average discharge"),
    "H4": LabelSpec(None, _int, "number of charge cycles"),
    "H5": LabelSpec(None, _int, "number of full discharges"),
    "H6": LabelSpec("Ah", _mV, "cumulative amp hours drawn"),
    "H7": LabelSpec("V", _mV, "minimum main voltage"),
    "H8": LabelSpec("V", _mV, "maximum main voltage"),
    "H9": LabelSpec("s", _int, "time since the last full charge"),
    "H10": LabelSpec(None, _int, "number of automatic synchronisations"),
    "H11": LabelSpec(None, _int, "number of low main voltage alarms"),
    "H12": LabelSpec(None, _int, "number of high main voltage alarms"),
    "H13": LabelSpec(None, _int, "number of low auxiliary voltage alarms"),
    "H14": LabelSpec(None, _int, "number of high auxiliary voltage alarms"),
    "H15": LabelSpec("V", _mV, "minimum auxiliary voltage"),
    "H16": LabelSpec("V", _mV, "maximum auxiliary voltage"),
    "H17": LabelSpec("kWh", _centi, "discharged (BMV) or produced (DC monitor) energy"),
    "H18": LabelSpec("kWh", _centi, "charged (BMV) or consumed (DC monitor) energy"),
    "H19": LabelSpec("kWh", _centi, "yield total (user resettable)"),
    "H20": LabelSpec("kWh", _centi, "yield today"),
    "H21": LabelSpec("W", _int, "maximum power today"),
    "H22": LabelSpec("kWh", _centi, "yield yesterday"),
    "H23": LabelSpec("W", _int, "maximum power yesterday"),
    "ERR": LabelSpec(None, _enum(ERR_CODES), "charger error (ERR_CODES)"),
    "CS": LabelSpec(None, _enum(CS_STATES), "state of operation (CS_STATES)"),
    "MPPT": LabelSpec(None, _enum(MPPT_MODES), "tracker operation mode (MPPT_MODES)"),
    "BMV": LabelSpec(None, _text, "model description (deprecated)"),
    "FW": LabelSpec(None, _fw, "firmware version, 16 bit: 0308 -> 3.08"),
    "FWE": LabelSpec(None, _fwe, "firmware version, 24 bit: 316FF -> 3.16"),
    "PID": LabelSpec(None, _hex, "product id as an integer (model_for_pid names it)"),
    "SER#": LabelSpec(None, _text, "serial number"),
    "HSDS": LabelSpec(None, _int, "day sequence number, 0..364"),
    "MODE": LabelSpec(None, _enum(MODES), "device mode (MODES)"),
    "AC_OUT_V": LabelSpec("V", _centi, "AC output voltage"),
    "AC_OUT_I": LabelSpec("A", _permille, "AC output current"),
    "AC_OUT_S": LabelSpec("VA", _int, "AC output apparent power"),
    "WARN": LabelSpec(None, _alarm_bits, "warning reasons (ALARM_REASONS names)"),
    "MON": LabelSpec(None, _enum(MON_MODES), "DC monitor mode (MON_MODES)"),
    "DC_IN_V": LabelSpec("V", _centi, "DC input voltage"),
    "DC_IN_I": LabelSpec("A", _permille, "DC input current"),
    "DC_IN_P": LabelSpec("W", _int, "DC input power"),
    "HC#": LabelSpec(None, _text, "hardware revision (Blue Smart chargers)"),
}
"""Every label of §1.6 -> (unit, decoder, description).

Values are SI with Home Assistant's unit names: V, A, W, VA, Ah, %, °C, s. Energy counters
(H17..H22, sent in 0.01 kWh) are in kWh, the unit of HA energy sensors; TTG stays in minutes as
sent (HA ``UnitOfTime.MINUTES``). Integers stay ``int``; scaled values are ``float`` at the
protocol's resolution (``int / 10**n``: 12282 mV is exactly ``12.282``). ON/OFF -> bool. Enums ->
snake_case option name, None for an undocumented code. Bitmasks (AR, WARN, OR) -> tuple of
reason names in bit order, ``()`` for none, ``unknown_bit_<n>`` for an undocumented bit. Text
that does not fit its label, and ``---`` ("not available") for any label, decode to None.
"""


def decode_value(label: str, raw: str) -> object:
    """Decode one raw VE.Direct value as :data:`LABELS` says (§1.6).

    ``---`` -> None for every label; a label not in :data:`LABELS` keeps its raw text; a value
    that does not fit its label (``V`` = ``abc``) -> None. Never raises.
    """
    if raw == "---":
        return None
    spec = LABELS.get(label)
    return raw if spec is None else spec.decode(raw)


def model_for_pid(pid: str | int) -> str | None:
    """Model name for a VE.Direct product id (§1.8, :mod:`.vedirect_pids`), None when unknown.

    Takes the PID field as sent (``"0xA381"``, the BMV-70x short form ``"0x203"``) in any letter
    case, with or without ``0x``, or an int (the Venus OS ``ProductId`` is the same number in
    decimal: 41865 = 0xA389).
    """
    if isinstance(pid, str):
        text = pid.strip()
        if text[:2] in ("0x", "0X"):
            text = text[2:]
        if not 0 < len(text) <= 8 or not all(c in "0123456789abcdefABCDEF" for c in text):
            return None
        pid = int(text, 16)
    return PID_MODELS.get(pid)


# --- fields, parsed when a record is read ---------------------------------------------------------


def _parse_line(line: bytes) -> tuple[str, str] | None:
    r"""``b"label\tvalue"`` -> ``("label", "value")``; None when it breaks the limits (§1.1)."""
    label, tab, value = line.partition(b"\t")
    if not tab or not 0 < len(label) <= MAX_LABEL or len(value) > MAX_VALUE:
        return None
    if not label.isascii() or not value.isascii():
        return None
    label_text = label.decode("ascii")
    value_text = value.decode("ascii")
    if not label_text.isprintable() or " " in label_text or not value_text.isprintable():
        return None
    return label_text, value_text


class _Memo[K, V](dict[K, V]):
    """A bounded memo of a pure function (cleared when full): lines and values repeat a lot."""

    __slots__ = ("_function",)

    def __init__(self, function: Callable[[K], V]) -> None:
        super().__init__()
        self._function = function

    def __missing__(self, key: K) -> V:
        if len(self) >= LINE_CACHE_SIZE:
            self.clear()
        value = self[key] = self._function(key)
        return value


_LINES: Final = _Memo(_parse_line)
_DECODED: Final = _Memo[tuple[str, str], object](lambda field: decode_value(*field))


class _Block:
    r"""One good block: its text from the leading CR LF up to ``\r\nChecksum\t`` (excluded).

    Its fields and values are worked out on first use and kept, so a block is parsed once however
    many records hold it (a BMV's history block is in every record until the next one comes).
    """

    __slots__ = ("_fields", "_values", "text")

    def __init__(self, text: bytes) -> None:
        self.text = text
        self._fields: dict[str, str] | None = None
        self._values: dict[str, object] | None = None

    def fields(self) -> dict[str, str]:
        """Label -> raw text of the good field lines, in block order (not to be mutated)."""
        fields = self._fields
        if fields is None:
            lines = self.text.split(_CRLF)
            del lines[0]  # the text starts with CR LF
            fields = self._fields = dict(filter(None, map(_LINES.__getitem__, lines)))
        return fields

    def values(self) -> dict[str, object]:
        """Label -> decoded value (not to be mutated)."""
        values = self._values
        if values is None:
            values = self._values = _decode_fields(self.fields())
        return values


def _decode_fields(fields: dict[str, str]) -> dict[str, object]:
    return {label: _DECODED[label, raw] for label, raw in fields.items()}


# --- records --------------------------------------------------------------------------------------


class VEDirectRecord:
    """A device snapshot: its latest good block of each kind, merged (see the module doc).

    ``fields``: label -> raw text exactly as sent (case-sensitive labels: ``Alarm``, ``SER#``).
    ``values``: label -> decoded value (:data:`LABELS`), SI units with HA unit names; None for
    ``---`` or text that does not fit; a label the table does not know keeps its raw text.

    The parser only frames and verifies; both dicts are built on first read and then kept. Each
    record has dicts of its own. ``VEDirectRecord(blocks)`` takes the good blocks, oldest first
    (the parser's business); :meth:`from_fields` builds one from a field map (tests, fakes).
    """

    __slots__ = ("_blocks", "_fields", "_values")

    def __init__(self, blocks: tuple[_Block, ...]) -> None:
        """Wrap good blocks, oldest first."""
        self._blocks = blocks
        self._fields: dict[str, str] | None = None
        self._values: dict[str, object] | None = None

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> VEDirectRecord:
        """A record holding ``fields`` (label -> raw text)."""
        record = cls(())
        record._fields = dict(fields)
        return record

    @property
    def fields(self) -> dict[str, str]:
        """Raw fields, label -> text as sent."""
        fields = self._fields
        if fields is None:
            fields = self._fields = {}
            for block in self._blocks:
                fields |= block.fields()
        return fields

    @property
    def values(self) -> dict[str, object]:
        """Decoded values, label -> value (units in :data:`LABELS`)."""
        values = self._values
        if values is None:
            if self._blocks:
                values = self._values = {}
                for block in self._blocks:
                    values |= block.values()
            else:  # from_fields
                values = self._values = _decode_fields(self.fields)
        return values

    @property
    def pid(self) -> int | None:
        """Product id (``PID``) as an int, e.g. 0xA381, or None."""
        raw = self.fields.get("PID")
        return None if raw is None else _hex(raw)

    @property
    def model(self) -> str | None:
        """Model name from the PID table (:func:`model_for_pid`), or None."""
        pid = self.pid
        return None if pid is None else PID_MODELS.get(pid)

    @property
    def serial(self) -> str | None:
        """Serial number (``SER#``), or None (BMV-70x send none)."""
        return self.fields.get("SER#")

    @property
    def firmware(self) -> str | None:
        """Firmware version from ``FW`` or else ``FWE``, e.g. ``"3.08"``, or None."""
        fields = self.fields
        raw = fields.get("FW")
        if raw is not None:
            return _fw(raw)
        raw = fields.get("FWE")
        return None if raw is None else _fwe(raw)

    def __eq__(self, other: object) -> bool:
        """Records are equal when their fields are."""
        if not isinstance(other, VEDirectRecord):
            return NotImplemented
        return self.fields == other.fields

    # Unhashable, as __eq__ implies; typeshed types object.__hash__ as a method, hence the ignore.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """Debug form, with the raw fields."""
        return f"VEDirectRecord({self.fields!r})"


# --- the parser -----------------------------------------------------------------------------------


def _hex_frame_ok(frame: bytes) -> bool:
    r"""``:``, command nibble, hex byte pairs, ``\n``; nibble + bytes (check included) == 0x55."""
    digits = frame[1:-1]
    if len(digits) < 3 or not len(digits) & 1 or not _HEX_DIGITS.issuperset(digits):
        return False
    return (int(digits[:1], 16) + sum(bytes.fromhex(digits[1:].decode("ascii")))) & 0xFF == 0x55


class VEDirectParser:
    """Sans-I/O VE.Direct TEXT protocol parser for ONE serial port, so one device.

    :meth:`feed` takes bytes as they come off the port and returns the records they complete
    (see the module doc for the rules). Counters, for diagnostics:

    * ``blocks``: good blocks, each emitted as a record (``records`` is the same number);
    * ``checksum_errors``: blocks whose byte sum is not 0 mod 256;
    * ``format_errors``: blocks that verify but have more than MAX_FIELDS fields or a first field
      without a good label;
    * ``overruns``: blocks dropped for not ending within MAX_BLOCK bytes (then a resync);
    * ``hex_frames`` / ``hex_checksum_errors``: good / bad (sum, not hex, too long) HEX frames;
    * ``bytes_discarded``: bytes in no good block and no good HEX frame: noise, bad blocks, bad
      HEX frames, the start-up fragment, what :meth:`reset` drops.

    ``hex_lines`` holds the good HEX frames as received, ``:`` through ``\\n``
    (``b":ABBED008D28EE\\n"``), oldest first, for a HEX decoder to take with ``popleft()``. It
    keeps the latest :data:`MAX_HEX_LINES`; older ones are dropped unread, so nobody has to read.
    """

    __slots__ = (
        "_hex_pending",
        "_kinds",
        "_pid_head",
        "_synced",
        "_text",
        "blocks",
        "bytes_discarded",
        "checksum_errors",
        "format_errors",
        "hex_checksum_errors",
        "hex_frames",
        "hex_lines",
        "overruns",
    )

    def __init__(self) -> None:
        """Start unsynchronised, with no device known."""
        self._text = b""  # text (HEX frames cut out) not yet framed: a block's start, or b"\r"
        self._hex_pending = b""  # an unfinished HEX frame, from its ':'
        self._synced = False  # False until a block was checked: the first may be a fragment
        # the latest good block of each kind, oldest first, under its head: the CR LF, first
        # label and tab (b"\r\nH1\t"), or a PID block's whole first line (b"\r\nPID\t0x203\r\n")
        self._kinds: dict[bytes, _Block] = {}
        self._pid_head = b""  # the head of the device's latest PID block
        self.hex_lines: deque[bytes] = deque(maxlen=MAX_HEX_LINES)
        self.blocks = 0
        self.checksum_errors = 0
        self.format_errors = 0
        self.overruns = 0
        self.hex_frames = 0
        self.hex_checksum_errors = 0
        self.bytes_discarded = 0

    @property
    def records(self) -> int:
        """Records emitted: one per good block, so always ``blocks``."""
        return self.blocks

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished block or HEX frame (< MAX_BLOCK + MAX_HEX_FRAME)."""
        return len(self._text) + len(self._hex_pending)

    def reset(self) -> None:
        """Drop any unfinished block or HEX frame, e.g. after 500 ms without data (§1.10 item 8).

        The dropped bytes count as discarded, and the next block may be a fragment again. The
        device's blocks are kept: the same port usually means the same device, and a block with
        another PID starts afresh anyway.
        """
        self.bytes_discarded += len(self._text) + len(self._hex_pending)
        self._text = self._hex_pending = b""
        self._synced = False

    def forget_device(self) -> None:
        """Drop the blocks held for the device: the next record holds only blocks that follow.

        For a caller that finds out by other means (a SER# it does not expect) that another
        device is on the port. The counters and any unfinished block are kept.
        """
        self._kinds.clear()
        self._pid_head = b""

    def feed(self, data: bytes | bytearray | memoryview) -> list[VEDirectRecord]:
        """Consume bytes from the port; return the records they complete, oldest first.

        Often empty. Any chunking gives the same records and counters. Never raises on bad
        input: it is counted and dropped.

        First the HEX frames are cut out: the text between them goes to :meth:`_frame` in
        stream order, so a ``:`` right after ``\\r\\nChecksum\\t`` is seen as that block's
        checksum byte, not as the start of a frame.
        """
        data = self._hex_pending + bytes(data)
        self._hex_pending = b""
        out: list[VEDirectRecord] = []
        pos = 0
        while (colon := data.find(b":", pos)) >= 0:
            self._frame(data[pos:colon], out)
            if self._text.endswith(_MARKER):  # the checksum byte of the block in progress (§1.2)
                self._frame(b":", out)
                pos = colon + 1
                continue
            end = data.find(b"\n", colon, colon + MAX_HEX_FRAME)
            if end >= 0:  # a whole frame
                pos = end + 1
                self._hex_frame(data[colon:pos])
            elif len(data) - colon < MAX_HEX_FRAME:  # unfinished: wait for the rest
                self._hex_pending = data[colon:]
                return out
            else:  # no '\n' in time: abandon it, resume the text
                pos = colon + MAX_HEX_FRAME
                self.hex_checksum_errors += 1
                self.bytes_discarded += MAX_HEX_FRAME
        self._frame(data[pos:], out)
        return out

    def _hex_frame(self, frame: bytes) -> None:
        r"""Check and count one HEX frame, ``:`` through ``\n`` (§1.4); keep it when good."""
        if _hex_frame_ok(frame):
            self.hex_frames += 1
            self.hex_lines.append(frame)
        else:
            self.hex_checksum_errors += 1
            self.bytes_discarded += len(frame)

    def _frame(self, text: bytes, out: list[VEDirectRecord]) -> None:
        """Add HEX-free text to the stream; check every block it completes; keep the rest."""
        buf = self._text + text
        find = buf.find
        n = len(buf)
        pos = 0  # between blocks
        while (start := find(_CRLF, pos)) >= 0:
            self.bytes_discarded += start - pos  # noise before the block
            pos = start
            marker = find(_MARKER, start, start + MAX_BLOCK - 1)  # leave room for the byte
            if marker >= 0:
                end = marker + _MARKER_LEN + 1  # through the checksum byte
                if end > n:
                    break  # the checksum byte has not arrived yet
                self._block(buf[start:marker], buf[end - 1], out)
                pos = end
            elif n - start >= MAX_BLOCK - 1:  # it cannot end within MAX_BLOCK: drop it, resync
                pos = start + MAX_BLOCK - 1
                self.bytes_discarded += MAX_BLOCK - 1
                self.overruns += 1
                self._synced = False
            else:
                break  # an unfinished block
        else:  # only noise after pos; a trailing CR may begin the next block
            keep = n - 1 if n > pos and buf[-1] == 0x0D else n
            self.bytes_discarded += keep - pos
            pos = keep
        self._text = buf[pos:]

    def _block(self, text: bytes, checksum: int, out: list[VEDirectRecord]) -> None:
        r"""Check one block (``text``: its CR LF up to ``\r\nChecksum\t``); emit a record if good.

        The record holds the latest good block of every kind, oldest first; this block replaces
        the one of its kind. A first line ``PID\t...`` other than the device's last means another
        device: the blocks held so far are dropped.
        """
        synced = self._synced
        self._synced = True
        if (sum(text) + _MARKER_SUM + checksum) & 0xFF:
            if synced:  # the first block may be a fragment: not an error
                self.checksum_errors += 1
            self.bytes_discarded += len(text) + _MARKER_LEN + 1
            return
        first = _FIRST_LABEL(text)
        if first is None or text.count(_CRLF) > MAX_FIELDS:
            self.format_errors += 1
            self.bytes_discarded += len(text) + _MARKER_LEN + 1
            return
        kinds = self._kinds
        if text.startswith(b"PID\t", 2):
            line_end = text.find(_CRLF, 2)
            head = text + _CRLF if line_end < 0 else text[: line_end + 2]
            if head != self._pid_head:
                if self._pid_head:  # another device on this port: start afresh
                    kinds.clear()
                self._pid_head = head
        else:
            head = first.group()
        held = kinds.pop(head, None)
        if held is None and len(kinds) >= MAX_KINDS:
            del kinds[next(iter(kinds))]  # the oldest kind
        # the same text as the block it replaces: keep that one, parsed already if it was read
        kinds[head] = held if held is not None and held.text == text else _Block(text)
        out.append(VEDirectRecord(tuple(kinds.values())))
        self.blocks += 1

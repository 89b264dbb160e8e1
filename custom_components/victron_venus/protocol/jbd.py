"""JBD (Jiabaida / Xiaoxiang) smart BMS protocol: frame assembly, decoding, requests, FF AA login.

Pure and sans-I/O (DESIGN.md, "Rules of the house"): bytes in, verified frames and typed records in
SI units out. Standard library only; no asyncio, no Home Assistant.

Facts come from ../shared/reference/protocols.md section 2 (cited as §2.x below) and the real
captures in ../shared/fixtures/jbd (btsnoop ATT transcripts and jbd_frames.json).

Typical host-side use (BLE notifications or serial reads alike)::

    assembler = FrameAssembler()
    transport.write(request(REG_BASIC_INFO))  # DD A5 03 00 FF FD 77
    for frame in assembler.feed(chunk):       # any chunking: BLE notifications, serial reads
        record = parse_frame(frame)           # BasicInfo | CellVoltages | HardwareInfo

Frame layout (§2.2)::

    request : DD  A5|5A  reg     len  data[len]  ckH ckL  77     (A5 = read, 5A = write)
    response: DD  reg    status  len  data[len]  ckH ckL  77     (status 00 = OK, bit 7 = error)
    checksum = (0x10000 - sum(frame[2 : 4 + len])) & 0xFFFF, big-endian

Newer BLE modules want an "FF AA" login before they answer reads (§2.3):
``FF AA cmd len data[len] sum8`` with ``sum8 = (cmd + len + sum(data)) & 0xFF`` and no 0x77 tail.
"""

from dataclasses import dataclass
import datetime as dt
from functools import lru_cache
import struct
from typing import Final

__all__ = [
    "AUTH_APP_KEY",
    "AUTH_CHANGE_PASSWORD",
    "AUTH_PASSWORD",
    "AUTH_RANDOM",
    "AUTH_ROOT_PASSWORD",
    "DEFAULT_APP_KEY",
    "ERROR_COUNTER_NAMES",
    "MAX_FRAME_LEN",
    "PROTECTION_FLAGS",
    "REG_BASIC_INFO",
    "REG_CELL_VOLTAGES",
    "REG_ERROR_COUNTERS",
    "REG_HARDWARE_INFO",
    "AuthError",
    "AuthReply",
    "BasicInfo",
    "CellVoltages",
    "ChecksumError",
    "ErrorCounters",
    "FrameAssembler",
    "FrameError",
    "HardwareInfo",
    "JBDError",
    "PayloadLengthError",
    "StatusError",
    "UnknownRegisterError",
    "app_key_frame",
    "auth_frame",
    "checksum_ok",
    "is_auth_frame",
    "parse_auth_reply",
    "parse_error_counters",
    "parse_frame",
    "password_frame",
    "random_request_frame",
    "request",
    "root_password_frame",
    "write_request",
]

# --- constants (§2.2, §2.4, §2.5) -----------------------------------------------------------------

START: Final = 0xDD
END: Final = 0x77
READ: Final = 0xA5
WRITE: Final = 0x5A
STATUS_OK: Final = 0x00
_REQUEST_KINDS: Final = frozenset((READ, WRITE))

REG_BASIC_INFO: Final = 0x03
REG_CELL_VOLTAGES: Final = 0x04
REG_HARDWARE_INFO: Final = 0x05
REG_ERROR_COUNTERS: Final = 0xAA

MIN_FRAME_LEN: Final = 7
"""Header (4) + checksum (2) + tail (1): an empty response such as ``DD E1 00 00 00 00 77``."""
MAX_FRAME_LEN: Final = 255 + MIN_FRAME_LEN
"""The length byte is one byte, so no frame is longer than 262 bytes; the assembler buffers less."""

PROTECTION_FLAGS: Final[tuple[str, ...]] = (
    "cell_overvoltage",  # bit 0
    "cell_undervoltage",  # bit 1
    "pack_overvoltage",  # bit 2
    "pack_undervoltage",  # bit 3
    "charge_overtemperature",  # bit 4
    "charge_undertemperature",  # bit 5
    "discharge_overtemperature",  # bit 6
    "discharge_undertemperature",  # bit 7
    "charge_overcurrent",  # bit 8
    "discharge_overcurrent",  # bit 9
    "short_circuit",  # bit 10
    "front_end_ic_error",  # bit 11
    "mos_software_lock",  # bit 12
    "charge_timeout_close",  # bit 13 (syssi)
)
"""Names of the 0x03 protection-status bits, index = bit number (§2.4). Bits 14-15 are reserved and
never named; they stay visible in ``BasicInfo.protection_raw``."""

ERROR_COUNTER_NAMES: Final[tuple[str, ...]] = (
    "short_circuit",
    "charge_overcurrent",
    "discharge_overcurrent",
    "cell_overvoltage",
    "cell_undervoltage",
    "charge_overtemperature",
    "charge_undertemperature",
    "discharge_overtemperature",
    "discharge_undertemperature",
    "pack_overvoltage",
    "pack_undervoltage",
)
"""The eleven u16 counters of register 0xAA, in payload order (§2.5)."""

# FF AA login commands (§2.3; the FF AA btsnoop transcript; syssi docs/ffaa-auth-flow).
AUTH_HEADER: Final = b"\xff\xaa"
AUTH_APP_KEY: Final = 0x15
AUTH_CHANGE_PASSWORD: Final = 0x16
AUTH_RANDOM: Final = 0x17
AUTH_PASSWORD: Final = 0x18
AUTH_ROOT_PASSWORD: Final = 0x1D
DEFAULT_APP_KEY: Final = "000000"
_AUTH_COMMANDS: Final = frozenset(
    {AUTH_APP_KEY, AUTH_CHANGE_PASSWORD, AUTH_RANDOM, AUTH_PASSWORD, AUTH_ROOT_PASSWORD}
)
_AUTH_ACCEPTED: Final = frozenset({0x00, 0x02})  # 00 = ACK, 02 = no password needed; 01 = NACK

_BASIC: Final = struct.Struct(">HhHHHHHHHBBBBB")  # the fixed 23 bytes of the 0x03 payload
_BASIC_LEN: Final = _BASIC.size
_ERROR_COUNTERS: Final = struct.Struct(">11H")
_U16: Final = tuple(struct.Struct(f">{n}H") for n in range(128))  # n big-endian u16, n <= 127
_KELVIN_OFFSET: Final = 2731  # 0.1 K; °C = (v - 2731) / 10 (§2.4)
_SOFTWARE_VERSIONS: Final = tuple(f"{v >> 4}.{v & 0x0F}" for v in range(256))  # 0x44 -> "4.4"


# --- errors ---------------------------------------------------------------------------------------


class JBDError(ValueError):
    """Base of every error this module raises for bytes that are not what the protocol allows."""


class FrameError(JBDError):
    """Not a well-formed response: start byte, tail byte, length byte or direction is wrong."""


class ChecksumError(FrameError):
    """The frame's 16-bit checksum does not match its bytes."""


class StatusError(JBDError):
    """The BMS answered with an error status (0x80, or 0x81 as seen in the FF AA capture)."""

    def __init__(self, register: int, status: int) -> None:
        """Remember which register the BMS refused and the status byte it sent."""
        super().__init__(f"BMS answered register 0x{register:02X} with error status 0x{status:02X}")
        self.register = register
        self.status = status


class UnknownRegisterError(JBDError):
    """A valid response for a register this decoder does not handle."""

    def __init__(self, register: int) -> None:
        """Remember the register."""
        super().__init__(f"no decoder for register 0x{register:02X}")
        self.register = register


class PayloadLengthError(JBDError):
    """The payload is too short (or odd, for cell voltages) for the register's layout."""


class AuthError(JBDError):
    """Not a well-formed FF AA login frame, or an argument that cannot be encoded into one."""


# --- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BasicInfo:
    """Register 0x03, "basic info" (§2.4), in SI units.

    ``voltage`` V; ``current`` A (positive = charging, negative = discharging);
    ``remaining_capacity`` and ``nominal_capacity`` Ah; ``cycles`` count; ``production_date`` (None
    when the BMS sends an impossible date such as 0); ``balancing`` one bool per cell, cell 1 first
    (bit 0 of the low word is cell 1, the official document's mapping, §2.4); ``protection`` the set
    of active names from ``PROTECTION_FLAGS``; ``software_version`` e.g. "1.0" for 0x10; ``soc`` %;
    ``charge_fet`` and ``discharge_fet`` MOSFET on; ``cell_count``; ``temperatures`` °C, one per
    NTC, may be empty; ``balance_raw`` (u32, cells 17-32 in the high word), ``protection_raw`` (u16)
    and ``extension`` (the bytes after the temperatures that newer firmware adds; not decoded, §2.4)
    as sent.
    """

    voltage: float
    current: float
    remaining_capacity: float
    nominal_capacity: float
    cycles: int
    production_date: dt.date | None
    balancing: list[bool]
    protection: set[str]
    software_version: str
    soc: int
    charge_fet: bool
    discharge_fet: bool
    cell_count: int
    temperatures: list[float]
    balance_raw: int
    protection_raw: int
    extension: bytes

    @property
    def power(self) -> float:
        """Pack power in W, voltage x current (negative while discharging)."""
        return self.voltage * self.current


@dataclass(frozen=True, slots=True)
class CellVoltages:
    """Register 0x04 (§2.5): ``voltages`` in V, cell 1 first; as many as the payload holds."""

    voltages: list[float]

    @property
    def delta(self) -> float:
        """Highest minus lowest cell voltage in V (0.0 when there are no cells)."""
        return max(self.voltages) - min(self.voltages) if self.voltages else 0.0


@dataclass(frozen=True, slots=True)
class HardwareInfo:
    """Register 0x05 (§2.5): ``model``, the ASCII model string ("JBD-SP04S034-L4S-200A-B-U")."""

    model: str


@dataclass(frozen=True, slots=True)
class ErrorCounters:
    """Register 0xAA (§2.5): ``counts`` maps each ``ERROR_COUNTER_NAMES`` name to its u16 count."""

    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class AuthReply:
    """A decoded ``FF AA cmd len data sum`` reply of a BLE module (§2.3).

    ``command`` echoes the request (0x15 app key, 0x17 random, 0x18 password, 0x1D root password,
    0x16 change password); ``data`` is its payload.
    """

    command: int
    data: bytes

    @property
    def status(self) -> int | None:
        """The one status byte of an answer to 0x15/0x16/0x18/0x1D (00 ACK, 01 NACK, 02 no password
        needed); None for a 0x17 random-byte reply or a reply that is not one byte long."""
        if self.command == AUTH_RANDOM or len(self.data) != 1:
            return None
        return self.data[0]

    @property
    def accepted(self) -> bool:
        """True when the module accepted the step: status 00 or 02; a 0x17 reply with its byte."""
        if self.command == AUTH_RANDOM:
            return len(self.data) == 1
        return self.status in _AUTH_ACCEPTED

    @property
    def random(self) -> int | None:
        """The random byte of a 0x17 reply (to build ``password_frame``), else None."""
        if self.command == AUTH_RANDOM and len(self.data) == 1:
            return self.data[0]
        return None


# --- checksums and requests -----------------------------------------------------------------------


def _checksum(body: bytes | bytearray) -> int:
    """16-bit JBD checksum of the bytes from reg/status through the last data byte (§2.2)."""
    return (0x10000 - sum(body)) & 0xFFFF


def checksum_ok(frame: bytes | bytearray) -> bool:
    """Return whether ``frame`` is a complete, self-consistent JBD frame of either kind.

    ``DD ...`` (request or response): start 0xDD, length byte matches, tail 0x77, 16-bit checksum
    (§2.2). ``FF AA ...`` login frame: length byte matches and the 8-bit sum holds (§2.3).
    Never raises; anything else is False.
    """
    size = len(frame)
    if size >= MIN_FRAME_LEN and frame[0] == START:
        return (
            frame[3] + MIN_FRAME_LEN == size
            and frame[-1] == END
            and _checksum(frame[2:-3]) == (frame[-3] << 8 | frame[-2])
        )
    if size >= 5 and frame[0] == 0xFF and frame[1] == 0xAA:
        return frame[3] + 5 == size and sum(frame[2:-1]) & 0xFF == frame[-1]
    return False


def _frame(head: int, register: int, data: bytes) -> bytes:
    if not 0 <= register <= 0xFF:
        raise ValueError(f"register must be 0..255, got {register}")
    if len(data) > 0xFF:
        raise ValueError("at most 255 data bytes fit in a frame")
    body = bytes((register, len(data))) + data
    return bytes((START, head)) + body + _checksum(body).to_bytes(2, "big") + bytes((END,))


def request(register: int) -> bytes:
    """Build the read request for ``register`` (0..255): ``DD A5 reg 00 ckH ckL 77`` (§2.2).

    ``request(0x03) == bytes.fromhex("dda50300fffd77")``. Raises ValueError outside 0..255.
    """
    return _frame(READ, register, b"")


def write_request(register: int, data: bytes) -> bytes:
    """Build a write request ``DD 5A reg len data ckH ckL 77`` (§2.2), e.g. MOS control on 0xE1.

    ``write_request(0xE1, b"\\x00\\x02")`` switches the discharge MOSFET off (doc example
    ``DD 5A E1 02 00 02 FF 1B 77``). The BMS acknowledges with an empty response. Raises ValueError
    for a register outside 0..255 or more than 255 data bytes.
    """
    return _frame(WRITE, register, bytes(data))


# --- frame assembly -------------------------------------------------------------------------------


class FrameAssembler:
    """Cut verified JBD frames out of a byte stream delivered in chunks of any size.

    ``feed(chunk)`` returns the frames completed by ``chunk`` (bytes, each a whole ``DD .. 77``
    frame whose tail and checksum verified), in stream order. It works for BLE notifications
    (<= 20 bytes with the default ATT MTU, §2.1) and for serial reads of any size alike, never
    raises on bad input, and keeps its buffer below ``MAX_FRAME_LEN`` (262) bytes.

    How (§2.6, "Recommended"): a frame starts at 0xDD; once 4 bytes are there ``need = buf[3] + 7``;
    when ``need`` bytes are there the tail must be 0x77 and the checksum must hold. A candidate
    that fails loses only its first byte and the search for the next 0xDD goes on, so a frame
    hidden behind garbage or behind a false start is still found. Chunk boundaries mean nothing: a
    continuation chunk that starts with 0xDD (cell voltages 0x0DDx) is simply appended. While an
    incomplete candidate waits for its bytes, a complete valid frame that starts later in the
    buffer wins (the candidate was a false start in garbage), so a bogus length byte cannot stall
    the stream.
    A response candidate whose status byte is 0x01-0x7F is rejected at once (status is 00 or has
    bit 7 set, §2.2; 0x81 is in the FF AA capture).

    Direction: by default (``requests=False``, the host side) responses are returned and verified
    request frames (an RS485 adapter's echo of our own writes) are dropped; ``requests=True`` (the
    BMS side, e.g. a fake BMS) returns requests and drops responses. A chunk that is exactly one
    valid FF AA login frame is dropped too (route those to ``parse_auth_reply`` before feeding).

    Counters: ``frames`` returned; ``frames_skipped`` verified but dropped (other direction, FF AA);
    ``checksum_errors`` complete candidates with a 0x77 tail and a wrong checksum;
    ``framing_errors`` complete candidates without the 0x77 tail; ``bytes_discarded`` bytes thrown
    away as not part of any verified frame; ``resyncs`` times bytes were thrown away.
    Note that every 0xDD inside garbage is a candidate, so garbage can raise the error counters.
    """

    __slots__ = (
        "_buf",
        "_requests",
        "bytes_discarded",
        "checksum_errors",
        "frames",
        "frames_skipped",
        "framing_errors",
        "resyncs",
    )

    def __init__(self, *, requests: bool = False) -> None:
        """Start empty. ``requests=True`` assembles requests (BMS side) instead of responses."""
        self._buf = bytearray()
        self._requests = requests
        self.frames = 0
        self.frames_skipped = 0
        self.checksum_errors = 0
        self.framing_errors = 0
        self.bytes_discarded = 0
        self.resyncs = 0

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame (always < ``MAX_FRAME_LEN``)."""
        return len(self._buf)

    def reset(self) -> None:
        """Drop any partial frame, e.g. before a new request or after a reconnect (§2.6)."""
        if self._buf:
            self._discard(len(self._buf))

    def feed(self, chunk: bytes | bytearray) -> list[bytes]:
        """Add ``chunk`` and return the verified frames it completed (possibly none)."""
        size = len(chunk)
        if not size:
            return []
        head = chunk[0]
        if head == 0xFF and _is_auth_chunk(chunk):
            self.frames_skipped += 1
            return []
        buf = self._buf
        if not buf and head == START and size >= 4:
            # Fast paths for the usual BLE case: a chunk that starts a frame on an empty buffer.
            status = chunk[2]
            if status == 0 or status >= 0x80 or chunk[1] in _REQUEST_KINDS:
                need = chunk[3] + MIN_FRAME_LEN
                if (
                    size == need  # a whole frame: a 4S 0x04 reply, an ack, a serial read
                    and chunk[-1] == END
                    and (0x10000 - sum(chunk[2:-3])) & 0xFFFF == (chunk[-3] << 8 | chunk[-2])
                ):
                    if (chunk[1] in _REQUEST_KINDS) != self._requests:
                        self.frames_skipped += 1
                        return []
                    self.frames += 1
                    return [bytes(chunk)]
                if size < need and chunk.find(START, 1) < 0:
                    buf += chunk  # the first part of a longer frame, and nothing else
                    return []
        buf += chunk
        return self._drain()

    @staticmethod
    def _plausible(buf: bytes | bytearray, at: int) -> bool:
        """Cheap header check of the candidate at ``at`` (needs 3 bytes there)."""
        status = buf[at + 2]
        return status == 0 or status >= 0x80 or buf[at + 1] in _REQUEST_KINDS

    def _discard(self, count: int) -> None:
        del self._buf[:count]
        self.bytes_discarded += count
        self.resyncs += 1

    def _complete_later(self) -> int:
        """Index of a complete, verified frame that starts after buffer position 0, or -1."""
        buf = self._buf
        size = len(buf)
        at = buf.find(START, 1)
        while at > 0 and at + MIN_FRAME_LEN <= size:
            end = at + buf[at + 3] + MIN_FRAME_LEN
            if (
                end <= size
                and buf[end - 1] == END
                and self._plausible(buf, at)
                and _checksum(buf[at + 2 : end - 3]) == (buf[end - 3] << 8 | buf[end - 2])
            ):
                return at
            at = buf.find(START, at + 1)
        return -1

    def _drain(self) -> list[bytes]:
        buf = self._buf
        out: list[bytes] = []
        while buf:
            if buf[0] != START:
                at = buf.find(START)
                self._discard(len(buf) if at < 0 else at)
                continue
            size = len(buf)
            if size < 3:
                break
            status = buf[2]
            if not (status == 0 or status >= 0x80 or buf[1] in _REQUEST_KINDS):
                self._discard(1)
                continue
            if size < 4:
                break
            need = buf[3] + MIN_FRAME_LEN
            if size < need:
                later = self._complete_later()
                if later < 0:
                    break
                self._discard(later)
                continue
            if buf[need - 1] != END:
                self.framing_errors += 1
                self._discard(1)
                continue
            if (0x10000 - sum(buf[2 : need - 3])) & 0xFFFF != (buf[need - 3] << 8 | buf[need - 2]):
                self.checksum_errors += 1
                self._discard(1)
                continue
            if size == need:
                frame = bytes(buf)
                buf.clear()
            else:
                frame = bytes(buf[:need])
                del buf[:need]
            if (frame[1] in _REQUEST_KINDS) != self._requests:
                self.frames_skipped += 1
                continue
            self.frames += 1
            out.append(frame)
        return out


# --- decoding -------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _production_date(value: int) -> dt.date | None:
    """Decode ``day = v & 0x1F, month = (v >> 5) & 0x0F, year = 2000 + (v >> 9)`` (§2.4)."""
    month = (value >> 5) & 0x0F
    day = value & 0x1F
    if not (1 <= month <= 12 and day):
        return None
    try:
        return dt.date(2000 + (value >> 9), month, day)
    except ValueError:  # e.g. 31 February
        return None


def _parse_basic_info(frame: bytes | bytearray, length: int) -> BasicInfo:
    if length < _BASIC_LEN:
        raise PayloadLengthError(f"0x03 payload is {length} bytes, at least {_BASIC_LEN} needed")
    (
        voltage,
        current,
        remaining,
        nominal,
        cycles,
        date,
        balance_low,
        balance_high,
        protection,
        software,
        soc,
        fet,
        cells,
        ntc,
    ) = _BASIC.unpack_from(frame, 4)
    temps_end = 4 + _BASIC_LEN + 2 * ntc
    if temps_end > 4 + length:
        raise PayloadLengthError(
            f"0x03 payload is {length} bytes, {_BASIC_LEN + 2 * ntc} needed for {ntc} NTC"
        )
    balance = balance_low | balance_high << 16
    return BasicInfo(  # positional, in field order: a frozen dataclass is slow to build by keyword
        voltage / 100,
        current / 100,
        remaining / 100,
        nominal / 100,
        cycles,
        _production_date(date),
        [bool(balance >> cell & 1) for cell in range(cells)] if balance else [False] * cells,
        {name for bit, name in enumerate(PROTECTION_FLAGS) if protection >> bit & 1}
        if protection
        else set(),
        _SOFTWARE_VERSIONS[software],
        soc,
        bool(fet & 0x01),
        bool(fet & 0x02),
        cells,
        [(raw - _KELVIN_OFFSET) / 10 for raw in _U16[ntc].unpack_from(frame, 4 + _BASIC_LEN)],
        balance,
        protection,
        bytes(frame[temps_end : 4 + length]),
    )


def _parse_cell_voltages(frame: bytes | bytearray, length: int) -> CellVoltages:
    if length & 1:
        raise PayloadLengthError(f"0x04 payload of {length} bytes is not a whole number of cells")
    return CellVoltages([raw / 1000 for raw in _U16[length >> 1].unpack_from(frame, 4)])


def _check_response(frame: bytes | bytearray) -> int:
    """Verify a response frame's structure, checksum and status; return its payload length."""
    size = len(frame)
    if size < MIN_FRAME_LEN or frame[0] != START or frame[-1] != END:
        raise FrameError(f"not a JBD frame: {bytes(frame[:8]).hex()}...")
    length = frame[3]
    if length + MIN_FRAME_LEN != size:
        raise FrameError(f"length byte says {length} data bytes, frame has {size - 7}")
    if frame[1] in _REQUEST_KINDS:
        raise FrameError("this is a request frame (DD A5/5A), not a response")
    if _checksum(frame[2:-3]) != (frame[-3] << 8 | frame[-2]):
        raise ChecksumError(f"checksum mismatch in {bytes(frame).hex()}")
    if frame[2] != STATUS_OK:
        raise StatusError(frame[1], frame[2])
    return length


def parse_frame(frame: bytes) -> BasicInfo | CellVoltages | HardwareInfo:
    """Decode one whole response frame (as ``FrameAssembler.feed`` returns them).

    Register 0x03 -> ``BasicInfo``, 0x04 -> ``CellVoltages``, 0x05 -> ``HardwareInfo`` (§2.4, §2.5).
    The frame is checked again (start, tail, length byte, checksum) so any source of bytes is safe.

    Raises (all ``JBDError``, a ValueError): ``FrameError`` (malformed, or a request frame),
    ``ChecksumError``, ``StatusError`` (status byte not 0x00, e.g. 0x80), ``UnknownRegisterError``
    (any other register, e.g. 0xAA: see ``parse_error_counters``), ``PayloadLengthError`` (0x03
    shorter than 23 + 2 x NTC bytes, odd 0x04 payload).
    """
    size = len(frame)
    if (
        size < MIN_FRAME_LEN
        or frame[0] != START
        or frame[-1] != END
        or frame[3] + MIN_FRAME_LEN != size
        or frame[1] in _REQUEST_KINDS
        or frame[2] != STATUS_OK
        or (0x10000 - sum(frame[2:-3])) & 0xFFFF != (frame[-3] << 8 | frame[-2])
    ):
        _check_response(frame)  # raises the precise error
    length = size - MIN_FRAME_LEN
    register = frame[1]
    if register == REG_BASIC_INFO:
        return _parse_basic_info(frame, length)
    if register == REG_CELL_VOLTAGES:
        return _parse_cell_voltages(frame, length)
    if register == REG_HARDWARE_INFO:
        model = bytes(frame[4 : 4 + length]).decode("ascii", "replace").rstrip("\x00 ")
        return HardwareInfo(model)
    raise UnknownRegisterError(register)


def parse_error_counters(frame: bytes) -> ErrorCounters:
    """Decode a 0xAA response: eleven u16 protection-event counters, then 2 unknown bytes (§2.5).

    Raises the same ``JBDError`` subclasses as ``parse_frame``; ``UnknownRegisterError`` when the
    frame is not register 0xAA, ``PayloadLengthError`` when the payload is shorter than 22 bytes.
    """
    length = _check_response(frame)
    if frame[1] != REG_ERROR_COUNTERS:
        raise UnknownRegisterError(frame[1])
    if length < _ERROR_COUNTERS.size:
        raise PayloadLengthError(f"0xAA payload is {length} bytes, at least 22 needed")
    return ErrorCounters(
        dict(zip(ERROR_COUNTER_NAMES, _ERROR_COUNTERS.unpack_from(frame, 4), strict=True))
    )


# --- FF AA login (§2.3) ---------------------------------------------------------------------------


def is_auth_frame(data: bytes | bytearray) -> bool:
    """True when ``data`` starts with the FF AA login header (route it to ``parse_auth_reply``)."""
    return data[:2] == AUTH_HEADER


def _is_auth_chunk(chunk: bytes | bytearray) -> bool:
    """A chunk that is exactly one valid FF AA frame of a known command."""
    size = len(chunk)
    return (
        size >= 5
        and chunk[1] == 0xAA
        and chunk[2] in _AUTH_COMMANDS
        and chunk[3] + 5 == size
        and sum(chunk[2:-1]) & 0xFF == chunk[-1]
    )


def auth_frame(command: int, data: bytes = b"") -> bytes:
    """Build ``FF AA cmd len data sum8`` (§2.3); e.g. ``auth_frame(0x17)`` is ``FF AA 17 00 17``.

    Raises AuthError for a command outside 0..255 or more than 255 data bytes.
    """
    if not 0 <= command <= 0xFF:
        raise AuthError(f"command must be 0..255, got {command}")
    if len(data) > 0xFF:
        raise AuthError("at most 255 data bytes fit in a login frame")
    body = bytes((command, len(data))) + bytes(data)
    return AUTH_HEADER + body + bytes((sum(body) & 0xFF,))


def _ascii(secret: str, what: str) -> bytes:
    if not secret or not secret.isascii():
        raise AuthError(f"the {what} must be non-empty ASCII")
    return secret.encode("ascii")


def app_key_frame(app_key: str = DEFAULT_APP_KEY) -> bytes:
    """Build the first login step, command 0x15 with the ASCII app key (§2.3).

    ``app_key_frame()`` is ``FF AA 15 06 30 30 30 30 30 30 3B`` (key "000000", as the vendor app
    sends it in the FF AA capture). The module replies ``FF AA 15 01 ss sum``: see
    ``parse_auth_reply``. Raises AuthError for an empty or non-ASCII key.
    """
    return auth_frame(AUTH_APP_KEY, _ascii(app_key, "app key"))


def random_request_frame() -> bytes:
    """Build ``FF AA 17 00 17``: ask for the random byte that salts the password (§2.3)."""
    return auth_frame(AUTH_RANDOM)


def _mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, str):
        digits = mac.replace(":", "").replace("-", "")
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raise AuthError(f"not a MAC address: {mac!r}") from None
    else:
        raw = bytes(mac)
    if len(raw) != 6:
        raise AuthError(f"a MAC address has 6 bytes, got {len(raw)}")
    return raw


def password_frame(
    password: str, mac: str | bytes, random_byte: int, *, command: int = AUTH_PASSWORD
) -> bytes:
    """Build the salted password step: command 0x18 (user password) by default.

    Each password byte i becomes ``((pwd[i] ^ mac[i]) + random_byte) & 0xFF``, with ``mac[i] = 0``
    past the sixth byte. ``mac`` is the BMS's Bluetooth address, first octet first ("10:A5:62:..."
    or 6 bytes); ``random_byte`` comes from the 0x17 reply (``AuthReply.random``). Verified against
    the FF AA btsnoop transcript, where both login sessions decode with the same MAC and password
    under two different random bytes, and against syssi docs/ffaa-auth-flow (whose "% 255" is a
    typo for a byte-wide sum). Raises AuthError for an empty/non-ASCII password or a bad MAC, and
    ValueError for a random byte outside 0..255.
    """
    if not 0 <= random_byte <= 0xFF:
        raise ValueError(f"random byte must be 0..255, got {random_byte}")
    secret = _ascii(password, "password")
    salt = _mac_bytes(mac).ljust(len(secret), b"\x00")
    return auth_frame(
        command, bytes(((p ^ m) + random_byte) & 0xFF for p, m in zip(secret, salt, strict=False))
    )


def root_password_frame(password: str, mac: str | bytes, random_byte: int) -> bytes:
    """Build the 0x1D root-password step (only writes need it), encoded like ``password_frame``."""
    return password_frame(password, mac, random_byte, command=AUTH_ROOT_PASSWORD)


def parse_auth_reply(frame: bytes | bytearray) -> AuthReply:
    """Decode one ``FF AA cmd len data sum8`` reply (§2.3).

    ``FF AA 15 01 00 16`` -> ``AuthReply(0x15, b"\\x00")``, accepted; ``FF AA 18 01 01 1A`` ->
    NACK (``accepted`` False); ``FF AA 17 01 24 3C`` -> ``random`` 0x24. Raises AuthError when the
    header, the length byte or the 8-bit sum is wrong.
    """
    size = len(frame)
    if size < 5 or frame[:2] != AUTH_HEADER:
        raise AuthError(f"not an FF AA frame: {bytes(frame[:8]).hex()}")
    if frame[3] + 5 != size:
        raise AuthError(f"length byte says {frame[3]} data bytes, frame has {size - 5}")
    if sum(frame[2:-1]) & 0xFF != frame[-1]:
        raise AuthError(f"checksum mismatch in {bytes(frame).hex()}")
    return AuthReply(frame[2], bytes(frame[4:-1]))


# --- writes: MOSFET control and write acknowledgements (§2.2) -------------------------------------
# A separate section: register writes for issue 11 (JBD MOSFET control).

__all__ += [  # extends the list at the top with this section's names
    "EXIT_FACTORY",
    "EXIT_FACTORY_AND_SAVE",
    "FACTORY_MODE_KEY",
    "MOS_CHARGE_OFF",
    "MOS_DISCHARGE_OFF",
    "REG_ENTER_FACTORY",
    "REG_EXIT_FACTORY",
    "REG_MOSFET_CONTROL",
    "WriteResult",
    "mosfet_control",
    "parse_write_response",
]

REG_ENTER_FACTORY: Final = 0x00
"""Write ``56 78`` here to enter factory mode (§2.2; every settings session in the btsnoop logs)."""
REG_EXIT_FACTORY: Final = 0x01
"""Write ``00 00`` (leave) or ``28 28`` (leave and save to EEPROM) here to leave factory mode."""
REG_MOSFET_CONTROL: Final = 0xE1
"""MOSFET control: u16, bit 0 set = charge MOSFET off, bit 1 set = discharge MOSFET off (§2.2)."""
FACTORY_MODE_KEY: Final = b"\x56\x78"
EXIT_FACTORY: Final = b"\x00\x00"
EXIT_FACTORY_AND_SAVE: Final = b"\x28\x28"
MOS_CHARGE_OFF: Final = 0x01
MOS_DISCHARGE_OFF: Final = 0x02


def mosfet_control(charge: bool, discharge: bool) -> list[bytes]:
    """The whole write sequence that sets the charge and discharge MOSFETs, in sending order.

    ``[enter factory mode, 0xE1 write, leave factory mode]`` (§2.2), each answered by an empty
    acknowledgement (:func:`parse_write_response`) that should arrive before the next is sent::

        DD 5A 00 02 56 78 FF 30 77      enter factory mode (byte-equal to the app's, btsnoop logs)
        DD 5A E1 02 00 0X ck ck 77      X: bit 0 = charge off, bit 1 = discharge off
        DD 5A 01 02 00 00 FF FD 77      leave factory mode without saving (byte-equal to the app's)

    ``True`` means the MOSFET conducts (on). The 0xE1 frames are byte-equal to the vendor app's in
    syssi's UART capture JBD-SP04S034-L4S-200A-B-U_MOS.txt (jbd_frames.json), where each 0xE1 write
    is followed by ``DD 5A 01 02 00 00 FF FD 77``; the factory-mode bracket is jbdtool's
    ``jbd_set_mosfet`` (sshoecraft) and the app's settings sessions. 0xE1 is not an EEPROM setting,
    so factory mode is left without saving. The result shows in the FET bits of the next 0x03.
    """
    bits = (0 if charge else MOS_CHARGE_OFF) | (0 if discharge else MOS_DISCHARGE_OFF)
    return [
        write_request(REG_ENTER_FACTORY, FACTORY_MODE_KEY),
        write_request(REG_MOSFET_CONTROL, bits.to_bytes(2, "big")),
        write_request(REG_EXIT_FACTORY, EXIT_FACTORY),
    ]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The BMS's answer to a register write: ``register``, ``status`` (0 = done) and any data.

    ``DD E1 00 00 00 00 77`` -> ``WriteResult(0xE1, 0, b"")``, ``ok``; a refused write carries a
    non-zero status, e.g. ``DD E3 80 00 FF 80 77`` (0x80, as jbdtool logged for a rejected 0xE3).
    """

    register: int
    status: int
    data: bytes

    @property
    def ok(self) -> bool:
        """True when the BMS accepted the write (status 0x00)."""
        return self.status == STATUS_OK


def parse_write_response(frame: bytes) -> WriteResult:
    """Decode the acknowledgement of a ``DD 5A`` write (as ``FrameAssembler.feed`` returns it).

    ``DD reg status len data ckH ckL 77`` (§2.2): an accepted write is answered with status 0x00
    and no data (``DD E1 00 00 00 00 77``, checksum 0x0000); a non-zero status means the BMS
    refused it (``ok`` False; not an exception, the caller reports it). Raises ``FrameError`` for a
    frame that is malformed or a request, ``ChecksumError`` for a wrong checksum.
    """
    size = len(frame)
    if size < MIN_FRAME_LEN or frame[0] != START or frame[-1] != END:
        raise FrameError(f"not a JBD frame: {bytes(frame[:8]).hex()}...")
    if frame[3] + MIN_FRAME_LEN != size:
        raise FrameError(f"length byte says {frame[3]} data bytes, frame has {size - 7}")
    if frame[1] in _REQUEST_KINDS:
        raise FrameError("this is a request frame (DD A5/5A), not a response")
    if _checksum(frame[2:-3]) != (frame[-3] << 8 | frame[-2]):
        raise ChecksumError(f"checksum mismatch in {bytes(frame).hex()}")
    return WriteResult(frame[1], frame[2], bytes(frame[4:-3]))

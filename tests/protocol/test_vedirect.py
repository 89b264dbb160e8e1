"""VE.Direct TEXT protocol tests on the real captures in ../shared/fixtures/vedirect (never copied).

* every capture: exact counts of good blocks, HEX frames, discarded bytes and what stays buffered
  (protocols.md §1.9 and SOURCES.md), the same records for any chunking, decoded values checked
  against the raw text AND against the literal values §1.9 states;
* the record rule: BMV main + history and the SmartSolar 150/70 split record merge per device;
* edge cases built by hand: ':' and CR as checksum bytes, HEX frames inside a block, limits at
  their exact boundaries, a corrupted byte, another device on the port;
* a byte-at-a-time reference machine (``Reference`` below, written from the module doc's rules
  and nothing else) must agree with the parser, after every chunk, on every record and counter:
  on the captures, and under Hypothesis on random bytes, mutated captures and generated streams.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
import random
import re

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.victron_venus.protocol.vedirect import (
    ALARM_REASONS,
    CS_STATES,
    ENUM_OPTIONS,
    ERR_CODES,
    LABELS,
    MAX_BLOCK,
    MAX_FIELDS,
    MAX_HEX_FRAME,
    MAX_KINDS,
    MAX_LABEL,
    MAX_VALUE,
    MODES,
    MON_MODES,
    MPPT_MODES,
    OFF_REASONS,
    VEDirectParser,
    VEDirectRecord,
    decode_value,
    model_for_pid,
)
from custom_components.victron_venus.protocol.vedirect_pids import PID_MODELS
from tests.shared import fixture_path, reference_path

BVM702 = "karioja_bvm702.dump"
BLUESOLAR = "karioja_bluesolar_1.23.dump"
SMARTSOLAR = "karioja_smartsolar_1.39.dump"
SPLIT_150_70 = "kindr007_fake_smartsolar_150_70_rev3_0xA06C_split_blocks_hex.bin"
PHOENIX = "rexlinz_phoenix_12_1200_0xA2F1_garbage_then_block.bin"
BMV712 = "dbr_vedirect-rs_bmv712_partial_stream.bin"

COUNTERS = (
    "blocks",
    "records",
    "checksum_errors",
    "format_errors",
    "overruns",
    "hex_frames",
    "hex_checksum_errors",
    "bytes_discarded",
    "buffered",
)


@cache
def capture(name: str) -> bytes:
    return fixture_path("vedirect", name).read_bytes()


def block(*fields: tuple[str, str] | tuple[bytes, bytes], checksum_delta: int = 0) -> bytes:
    """A text block with the right checksum byte (plus ``checksum_delta``), §1.2."""
    body = b"".join(
        b"\r\n"
        + (label if isinstance(label, bytes) else label.encode())
        + b"\t"
        + (value if isinstance(value, bytes) else value.encode())
        for label, value in fields
    )
    body += b"\r\nChecksum\t"
    return body + bytes([(-sum(body) + checksum_delta) % 256])


def hex_frame(payload: str, *, good: bool = True) -> bytes:
    """``:``, command nibble, data, check byte, ``\\n`` (§1.4); ``good=False`` spoils the check."""
    data = bytes.fromhex(payload[1:])
    check = (0x55 - int(payload[0], 16) - sum(data) + (0 if good else 1)) % 256
    return f":{payload}{check:02X}\n".encode()


def feed_all(parser: VEDirectParser, data: bytes, sizes: Iterable[int]) -> list[VEDirectRecord]:
    records: list[VEDirectRecord] = []
    pos = 0
    for size in sizes:
        if pos >= len(data):
            break
        records += parser.feed(data[pos : pos + size])
        pos += size
    if pos < len(data):
        records += parser.feed(data[pos:])
    return records


def counters(parser: VEDirectParser | Reference) -> dict[str, int]:
    return {name: getattr(parser, name) for name in COUNTERS}


# --- the reference machine ----------------------------------------------------------------------


@dataclass
class Reference:
    """The module doc's rules, one byte at a time, as plainly as possible (slow on purpose)."""

    state: str = "idle"  # idle, idle_cr (a '\r' seen), block, checksum (the next byte is it)
    text: bytearray = field(default_factory=bytearray)
    hex: bytearray | None = None
    synced: bool = False
    kinds: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    pid_head: bytes = b""
    blocks: int = 0
    checksum_errors: int = 0
    format_errors: int = 0
    overruns: int = 0
    hex_frames: int = 0
    hex_checksum_errors: int = 0
    bytes_discarded: int = 0

    @property
    def records(self) -> int:
        return self.blocks

    @property
    def buffered(self) -> int:
        pending = len(self.text) if self.state in ("block", "checksum") else 0
        return pending + (self.state == "idle_cr") + len(self.hex or b"")

    def feed(self, data: bytes) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for byte in data:
            if self.hex is not None:
                self.hex.append(byte)
                if byte == 0x0A:
                    self.end_hex(self.is_good_hex(bytes(self.hex)))
                elif len(self.hex) == MAX_HEX_FRAME:
                    self.end_hex(good=False)
                continue
            if byte == 0x3A and self.state != "checksum":
                self.hex = bytearray(b":")
                continue
            if self.state == "idle":
                if byte == 0x0D:
                    self.state = "idle_cr"
                else:
                    self.bytes_discarded += 1
            elif self.state == "idle_cr":
                if byte == 0x0A:
                    self.state = "block"
                    self.text = bytearray(b"\r\n")
                elif byte == 0x0D:
                    self.bytes_discarded += 1
                else:
                    self.bytes_discarded += 2
                    self.state = "idle"
            elif self.state == "block":
                self.text.append(byte)
                if self.text.endswith(b"\r\nChecksum\t"):
                    self.state = "checksum"
                elif len(self.text) >= MAX_BLOCK - 1:
                    self.bytes_discarded += len(self.text)
                    self.overruns += 1
                    self.synced = False
                    self.state = "idle"
            else:  # checksum
                self.text.append(byte)
                self.check(bytes(self.text), out)
                self.state = "idle"
        return out

    def reset(self) -> None:
        self.bytes_discarded += self.buffered
        self.hex = None
        self.state = "idle"
        self.synced = False

    @staticmethod
    def is_good_hex(frame: bytes) -> bool:
        digits = frame[1:-1].decode("latin-1")
        if len(digits) < 3 or len(digits) % 2 == 0:
            return False
        if any(c not in "0123456789abcdefABCDEF" for c in digits):
            return False
        total = int(digits[0], 16) + sum(
            int(digits[i : i + 2], 16) for i in range(1, len(digits), 2)
        )
        return total % 256 == 0x55

    def end_hex(self, good: bool) -> None:
        assert self.hex is not None
        if good:
            self.hex_frames += 1
        else:
            self.hex_checksum_errors += 1
            self.bytes_discarded += len(self.hex)
        self.hex = None

    def check(self, text: bytes, out: list[dict[str, str]]) -> None:
        if sum(text) % 256:
            if self.synced:
                self.checksum_errors += 1
            self.bytes_discarded += len(text)
            self.synced = True
            return
        self.synced = True
        lines = text[2:-12].split(b"\r\n")
        label = lines[0].split(b"\t")[0] if b"\t" in lines[0] else None
        if label is None or not is_good_label(label) or len(lines) > MAX_FIELDS:
            self.format_errors += 1
            self.bytes_discarded += len(text)
            return
        if label == b"PID":
            head = b"\r\n" + lines[0] + b"\r\n"
            if head != self.pid_head:
                if self.pid_head:
                    self.kinds = []
                self.pid_head = head
        else:
            head = b"\r\n" + label + b"\t"
        self.kinds = [(h, f) for h, f in self.kinds if h != head]
        if len(self.kinds) >= MAX_KINDS:
            del self.kinds[0]
        fields: dict[str, str] = {}
        for line in lines:
            label, tab, value = line.partition(b"\t")
            if tab and is_good_label(label) and is_good_value(value):
                fields[label.decode()] = value.decode()
        self.kinds.append((head, fields))
        merged: dict[str, str] = {}
        for _, kind_fields in self.kinds:
            merged.update(kind_fields)
        out.append(merged)
        self.blocks += 1


def is_good_label(label: bytes) -> bool:
    return 1 <= len(label) <= MAX_LABEL and all(0x21 <= b <= 0x7E for b in label)


def is_good_value(value: bytes) -> bool:
    return len(value) <= MAX_VALUE and all(0x20 <= b <= 0x7E for b in value)


def assert_agrees(data: bytes, sizes: Iterable[int], *, resets: Iterable[int] = ()) -> None:
    """Parser and reference agree after every chunk (records, counters, what is buffered)."""
    parser, reference = VEDirectParser(), Reference()
    reset_after = set(resets)
    pos = 0
    for number, size in enumerate([*sizes, len(data)]):
        chunk = data[pos : pos + size]
        pos += size
        assert [r.fields for r in parser.feed(chunk)] == reference.feed(chunk)
        assert counters(parser) == counters(reference)
        assert parser.buffered < MAX_BLOCK + MAX_HEX_FRAME
        if number in reset_after:
            parser.reset()
            reference.reset()
            assert counters(parser) == counters(reference)
        if pos >= len(data):
            break


# --- the captures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    blocks: int
    hex_frames: int
    discarded: int  # leading noise and the truncated first block
    buffered: int  # the unfinished block at the end


EXPECTED = {
    BVM702: Expected(blocks=906, hex_frames=0, discarded=0, buffered=104),
    BLUESOLAR: Expected(blocks=248, hex_frames=7, discarded=1, buffered=0),
    SMARTSOLAR: Expected(blocks=493, hex_frames=2, discarded=9 + 148, buffered=0),
    SPLIT_150_70: Expected(blocks=4, hex_frames=14, discarded=0, buffered=2),
    PHOENIX: Expected(blocks=1, hex_frames=0, discarded=4, buffered=0),
    BMV712: Expected(blocks=2, hex_frames=0, discarded=22, buffered=14),
}


def test_every_capture_is_covered() -> None:
    assert {p.name for p in fixture_path("vedirect").iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_capture_counts(name: str) -> None:
    expected = EXPECTED[name]
    parser = VEDirectParser()
    records = parser.feed(capture(name))
    assert len(records) == parser.blocks == parser.records == expected.blocks
    assert parser.hex_frames == expected.hex_frames
    assert parser.checksum_errors == parser.format_errors == parser.overruns == 0
    assert parser.hex_checksum_errors == 0
    assert parser.bytes_discarded == expected.discarded
    assert parser.buffered == expected.buffered
    hex_frames = re.findall(rb"(?<!\r\nChecksum\t):[0-9A-F]+\n", capture(name))
    assert len(hex_frames) == expected.hex_frames  # counted independently


@pytest.mark.parametrize("name", EXPECTED)
def test_capture_any_chunking_same_records(name: str) -> None:
    data = capture(name)
    whole = VEDirectParser()
    expected = [r.fields for r in whole.feed(data)]
    rng = random.Random(name)
    for sizes in (
        [1] * len(data),
        [7] * (len(data) // 7 + 1),
        [rng.randint(1, 300) for _ in range(len(data))],
    ):
        parser = VEDirectParser()
        assert [r.fields for r in feed_all(parser, data, sizes)] == expected
        assert counters(parser) == counters(whole)


@pytest.mark.parametrize("name", EXPECTED)
def test_capture_agrees_with_reference(name: str) -> None:
    data = capture(name)
    rng = random.Random(name)
    assert_agrees(data, [len(data)])
    assert_agrees(data, [rng.randint(1, 200) for _ in range(len(data))])


def test_bvm702_colon_checksum_bytes() -> None:
    """Seven blocks end in the checksum byte ':' (0x3A), which must not start a HEX frame (§1.2)."""
    data = capture(BVM702)
    assert data.count(b"\r\nChecksum\t:") == 7
    parser = VEDirectParser()
    records = parser.feed(data)
    assert len(records) == 906
    assert parser.hex_frames == parser.hex_checksum_errors == 0


def test_bvm702_main_and_history_merge() -> None:
    """Main block (PID..FW, 12 fields) and history block (H1..H18, 14 fields) alternate (§1.3)."""
    records = VEDirectParser().feed(capture(BVM702))
    main = ["PID", "V", "I", "P", "CE", "SOC", "TTG", "Alarm", "Relay", "AR", "BMV", "FW"]
    history = ["H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8", "H9", "H10", "H11", "H12"]
    history += ["H17", "H18"]
    assert list(records[0].fields) == main
    assert set(records[1].fields) == set(main) | set(history)
    for record in records[1:]:
        assert set(record.fields) == set(main) | set(history)
    # each record carries the newest main and history values seen so far
    data = capture(BVM702)
    raw_v = re.findall(rb"\r\nV\t(-?\d+)\r\n", data)
    raw_h9 = re.findall(rb"\r\nH9\t(-?\d+)\r\n", data)
    assert len(raw_v) == 454  # the last main block is truncated
    assert [r.fields["V"] for r in records[::2]] == [v.decode() for v in raw_v[:453]]
    assert [r.fields["H9"] for r in records[1::2]] == [h.decode() for h in raw_h9]
    assert records[2].fields["H9"] == records[1].fields["H9"]  # history kept while main updates
    assert (
        records[0].model == "BMV-700"
    )  # PID 0x203; the file is called bvm702, the device says 700
    assert records[0].firmware == "3.08"
    assert records[0].serial is None


def test_split_150_70_record_merges_both_halves() -> None:
    """SmartSolar 150/70 rev3: PID..OR, HEX frames, then ERR..HSDS, each checksummed (§1.3)."""
    parser = VEDirectParser()
    records = parser.feed(capture(SPLIT_150_70))
    first = ["PID", "FWE", "SER#", "V", "I", "VPV", "PPV", "MPPT", "CS", "OR"]
    second = ["ERR", "LOAD", "Relay", "H19", "H20", "H21", "H22", "H23", "HSDS"]
    assert list(records[0].fields) == first
    assert list(records[1].fields) == first + second
    assert parser.hex_frames == 14
    values = records[1].values
    assert values["V"] == 52.7
    assert values["I"] == 7.6
    assert values["VPV"] == 103.87
    assert values["PPV"] == 412
    assert values["MPPT"] == "active"
    assert values["CS"] == "bulk"
    assert values["OR"] == ()
    assert values["ERR"] == "no_error"
    assert values["LOAD"] is True
    assert values["Relay"] is False
    assert values["H19"] == 11.58
    assert values["HSDS"] == 2
    assert records[3].values["VPV"] == 103.88  # the second record's first half
    assert records[1].firmware == "3.16"
    assert records[1].model == "SmartSolar MPPT 150|70 rev2"  # §1.8: the file says rev3
    assert records[1].serial == "HQ2247EP3FN"


def test_phoenix_literal_values() -> None:
    """§1.9: MODE 2, CS 9, AC_OUT_V 23007, AC_OUT_I 1, AC_OUT_S 38, V 13232, AR 0, WARN 0."""
    parser = VEDirectParser()
    (record,) = parser.feed(capture(PHOENIX))
    assert parser.bytes_discarded == len(b"abcd")
    assert record.values == {
        "PID": 0xA2F1,
        "FW": "1.24",
        "SER#": "HQ2152UFKWY",
        "MODE": "inverter",
        "CS": "inverting",
        "AC_OUT_V": 230.07,
        "AC_OUT_I": 0.1,
        "AC_OUT_S": 38,
        "V": 13.232,
        "AR": (),
        "WARN": (),
        "OR": (),
    }
    assert record.model == "Phoenix Inverter 12V 1200VA 230Vac 64k HS"
    assert LABELS["AC_OUT_V"].unit == "V"
    assert LABELS["AC_OUT_S"].unit == "VA"


def test_bmv712_partial_stream() -> None:
    """§1.9 dbr/vedirect-rs: truncated lead dropped, two good blocks, dangling partial kept."""
    data = capture(BMV712)
    parser = VEDirectParser()
    main, history = parser.feed(data)
    assert parser.bytes_discarded == len(b"\r\nH18\t2415\r\nChecksum\t\x04")
    assert parser.checksum_errors == 0  # the fragment a stream starts with is not an error
    assert parser.buffered == len(b"\r\nPID\t0xA381\r\n")
    assert main.fields["SOC"] == "916"
    values = main.values
    assert values["V"] == 12.282
    assert repr(values["V"]) == "12.282"
    assert values["VS"] == 0.029
    assert values["I"] == -2.288
    assert values["P"] == -28
    assert values["CE"] == -74.9
    assert values["SOC"] == 91.6
    assert values["TTG"] == 10350
    assert values["Alarm"] is False
    assert values["Relay"] is False
    assert values["AR"] == ()
    assert values["BMV"] == "712 Smart"
    assert values["FW"] == "4.03"
    assert main.model == "BMV-712 Smart"
    history_values = history.values
    assert history_values["H1"] == -76.138
    assert history_values["H6"] == -1876.218
    assert history_values["H7"] == 12.171
    assert history_values["H8"] == 20.418
    assert history_values["H9"] == 1199744
    assert history_values["H15"] == 0.02
    assert history_values["H16"] == 21.033
    assert history_values["H17"] == 24.04  # 2404 x 0.01 kWh
    assert history_values["H18"] == 24.15
    assert history_values["V"] == 12.282  # the main block is still in the record
    # the dangling "\r\nPID\t0xA381\r\n" completes with the next bytes
    rest = block(("PID", "0xA381"), ("V", "12290"))[len(b"\r\nPID\t0xA381\r\n") :]
    (record,) = parser.feed(rest)
    assert record.values["V"] == 12.29
    assert record.values["H9"] == 1199744


def test_bluesolar_and_smartsolar() -> None:
    blue = VEDirectParser().feed(capture(BLUESOLAR))
    assert blue[0].model == "BlueSolar MPPT 75|15"
    assert blue[0].firmware == "1.23"
    assert blue[0].serial == "HQ1411MYIKN"
    assert blue[0].values["LOAD"] is True
    assert blue[0].values["CS"] == "bulk"
    assert blue[0].values["H19"] == 82.72
    smart = VEDirectParser().feed(capture(SMARTSOLAR))
    assert smart[0].model == "SmartSolar MPPT 100|20"
    assert smart[0].firmware == "1.39"
    assert smart[0].values["CS"] == "off"
    assert smart[0].values["MPPT"] == "off"


# decoded values against the raw text, computed independently of LABELS
DIVISORS = {
    **dict.fromkeys(["V", "V2", "V3", "VS", "VM", "VPV", "I", "I2", "I3", "IL", "CE"], 1000),
    **dict.fromkeys(["H1", "H2", "H3", "H6", "H7", "H8", "H15", "H16"], 1000),
    **dict.fromkeys(["SOC", "DM", "AC_OUT_I", "DC_IN_I"], 10),
    **dict.fromkeys(["AC_OUT_V", "DC_IN_V", "H17", "H18", "H19", "H20", "H22"], 100),
}
INTEGERS = ["P", "PPV", "T", "H4", "H5", "H9", "H10", "H11", "H12", "H13", "H14", "H21", "H23"]
INTEGERS += ["HSDS", "AC_OUT_S", "DC_IN_P"]


@pytest.mark.parametrize("name", EXPECTED)
def test_values_match_raw_text(name: str) -> None:
    text_labels: set[str] = set()
    for record in VEDirectParser().feed(capture(name)):
        values = record.values
        assert values.keys() == record.fields.keys()
        for label, raw in record.fields.items():
            value = values[label]
            if label in DIVISORS:
                assert value == int(raw) / DIVISORS[label]
                assert len(repr(value).split(".")[1]) <= len(str(DIVISORS[label])) - 1
            elif label in INTEGERS:
                assert value == int(raw)
                assert type(value) is int
            elif label == "TTG":
                assert value == (None if int(raw) == -1 else int(raw))
            elif label in ("Alarm", "Relay", "LOAD"):
                assert value is {"ON": True, "OFF": False}[raw]
            elif label in ("PID",):
                assert value == int(raw, 16)
            elif label == "OR":
                mask = int(raw, 16)
                assert len(value) == mask.bit_count()  # type: ignore[arg-type]
            elif label in ("AR", "WARN"):
                assert len(value) == int(raw).bit_count()  # type: ignore[arg-type]
            elif label in ("CS", "ERR", "MPPT", "MODE", "MON"):
                table = {"CS": CS_STATES, "ERR": ERR_CODES, "MPPT": MPPT_MODES}
                table |= {"MODE": MODES, "MON": MON_MODES}
                assert value == table[label][int(raw)]
            elif label in ("FW", "FWE"):
                assert isinstance(value, str)
                assert value.replace(".", "") == raw[: len(raw) - 2 * (label == "FWE")].lstrip("0")
            else:
                assert value == raw
                text_labels.add(label)
    # the labels left as text: the BMVs' model text, the others' serial number
    assert text_labels == ({"BMV"} if name in (BVM702, BMV712) else {"SER#"})


# --- hand-made edge cases -----------------------------------------------------------------------


def test_checksum_byte_cr_and_colon_in_any_chunking() -> None:
    """The byte after ``Checksum\\t`` is taken whatever it is: 0x0D (Orion XS), ':' (bvm702)."""
    blocks = []
    for wanted in (0x0D, 0x3A, 0x0A, 0x00, 0xFF):
        # three printable characters reach any byte sum
        text = next(
            bytes([a, b, c])
            for a in range(0x21, 0x7F)
            for b in range(0x21, 0x7F)
            for c in range(0x21, 0x7F)
            if block(("PID", "0xA3F0"), (b"X", bytes([a, b, c])))[-1] == wanted
        )
        blocks.append(block(("PID", "0xA3F0"), (b"X", text)))
    data = b"".join(blocks) + b"\r\n"
    for size in (1, 2, 3, 5, len(data)):
        parser = VEDirectParser()
        records = feed_all(parser, data, [size] * len(data))
        assert len(records) == 5
        assert parser.checksum_errors == parser.hex_frames == parser.hex_checksum_errors == 0
        assert_agrees(data, [size] * len(data))


def test_checksum_of_long_blocks_of_high_bytes() -> None:
    """Around 256 bytes of 0xFF the fast path's adler32 stops being exact and sum() takes over."""
    data = b""
    for size in range(240, 330, 3):
        fields: list[tuple[str, str] | tuple[bytes, bytes]] = [
            ("PID", "0x203"),
            *[(b"Z", b"\xff" * 40)] * 5,
        ]
        filler = size - len(block(*fields, (b"Y", b"")))
        data += block(*fields, (b"Y", b"\xff" * filler))
    parser = VEDirectParser()
    records = parser.feed(data)
    assert len(records) == 30
    assert parser.checksum_errors == 0
    assert records[-1].fields == {"PID": "0x203"}  # the 0xFF values are left out
    assert_agrees(data, [1000] * 10)
    assert_agrees(data, [7] * 2000)


def test_hex_frame_inside_a_block_is_cut_out() -> None:
    """Old firmware may put a HEX frame mid-block: it is cut out and the block verifies (§1.4)."""
    good = block(("PID", "0xA053"), ("V", "13210"), ("CS", "5"))
    at = good.index(b"\r\nV")
    frame = hex_frame("A0102000005")
    for inserted, hex_ok in ((frame, True), (hex_frame("A0102000005", good=False), False)):
        # before a field, between CR and LF, in a value, before the marker, inside "Checksum"
        for where in (at, at + 1, at + 5, len(good) - 12, len(good) - 5):
            data = good + good[:where] + inserted + good[where:]
            parser = VEDirectParser()
            records = parser.feed(data)
            assert len(records) == 2
            assert records[1].values["V"] == 13.21
            assert (parser.hex_frames, parser.hex_checksum_errors) == (int(hex_ok), int(not hex_ok))
            assert_agrees(data, [3] * len(data))


def test_hex_frame_limits() -> None:
    frame = hex_frame("A" + "00" * ((MAX_HEX_FRAME - 5) // 2))
    assert len(frame) == MAX_HEX_FRAME - 1
    data = block(("PID", "0x203")) + frame + block(("PID", "0x203"))
    parser = VEDirectParser()
    assert len(parser.feed(data)) == 2
    assert parser.hex_frames == 1
    # a well-formed frame one byte over the limit is abandoned; its '\n' is then noise
    too_long = hex_frame("A" + "00" * ((MAX_HEX_FRAME - 3) // 2))
    assert len(too_long) == MAX_HEX_FRAME + 1
    parser = VEDirectParser()
    assert len(parser.feed(block(("PID", "0x203")) + too_long + block(("PID", "0x203")))) == 2
    assert (parser.hex_frames, parser.hex_checksum_errors) == (0, 1)
    assert parser.bytes_discarded == MAX_HEX_FRAME + 1
    # no '\n' within MAX_HEX_FRAME bytes: the frame is abandoned and the text resumes after it
    runaway = b":" + b"A" * (MAX_HEX_FRAME - 1) + b"B" * 10 + block(("PID", "0x203"))
    parser = VEDirectParser()
    for byte in runaway:
        parser.feed(bytes([byte]))
        assert parser.buffered < MAX_HEX_FRAME
    assert parser.hex_checksum_errors == 1
    assert parser.blocks == 1
    assert_agrees(runaway, [1] * len(runaway))
    assert_agrees(b":" + b"A" * (MAX_HEX_FRAME - 2) + b"\n" + data, [100] * 20)


def test_block_length_limit() -> None:
    """A block of exactly MAX_BLOCK bytes is taken; one byte more is an overrun and a resync."""
    for extra, taken in ((0, True), (1, False)):
        base = len(block(("PID", "0x203"), ("X", "")))
        filler = MAX_BLOCK - base + extra  # fields of 64 bytes (values too long for fields) + rest
        fields = [("PID", "0x203"), *[("Y", "z" * 60)] * (filler // 64), ("X", "a" * (filler % 64))]
        long_block = block(*fields)
        assert len(long_block) == MAX_BLOCK + extra
        good, bad = block(("H1", "-5")), block(("H1", "-6"), checksum_delta=1)
        data = long_block + good + bad + good
        parser = VEDirectParser()
        records = parser.feed(data)
        assert (parser.overruns, len(records)) == ((0, 3) if taken else (1, 2))
        # after the overrun the next block may be a fragment; a bad block after a good one is not
        assert parser.checksum_errors == 1
        assert_agrees(data, [97] * 100)


def test_field_limits() -> None:
    """Labels up to MAX_LABEL bytes, values up to MAX_VALUE; a later bad field is left out."""
    data = block(
        ("PID", "0x203"),
        ("L" * MAX_LABEL, "v" * MAX_VALUE),
        ("M" * (MAX_LABEL + 1), "too long a label"),
        ("N", "w" * (MAX_VALUE + 1)),
        ("O P", "a space in a label"),
        (b"Q", b"\x01control"),
        (b"R\tS", b"two tabs"),
        (b"no tab", b""),
        ("T", ""),
        ("BMV", "712 Smart"),
    )
    (record,) = VEDirectParser().feed(data)
    assert record.fields == {
        "PID": "0x203",
        "L" * MAX_LABEL: "v" * MAX_VALUE,
        "T": "",
        "BMV": "712 Smart",
    }
    assert record.values["T"] is None  # empty is not a number
    assert_agrees(data, [5] * 100)


def test_format_errors() -> None:
    """A block that verifies but has a bad first label or too many fields is dropped."""
    many = block(("PID", "0x203"), *[(f"F{i}", "1") for i in range(MAX_FIELDS)])
    most = block(("PID", "0x203"), *[(f"F{i}", "1") for i in range(MAX_FIELDS - 1)])
    bad_first = [block((b"", b"1"), ("V", "1")), block((b"A B", b"1")), block((b"X" * 10, b"1"))]
    bad_first += [block((b"\x7f", b"1")), block()]  # the last: no field at all
    data = b"".join([most, many, *bad_first])
    parser = VEDirectParser()
    records = parser.feed(data)
    assert len(records) == 1
    assert len(records[0].fields) == MAX_FIELDS
    assert parser.format_errors == 1 + len(bad_first)
    assert parser.checksum_errors == 0
    assert_agrees(data, [11] * 400)


def test_corrupted_byte_rejects_the_block() -> None:
    """One changed byte in a block (not a framing byte) fails its checksum; nothing else changes."""
    data = capture(BVM702)
    good = VEDirectParser().feed(data)
    starts = [m.start() for m in re.finditer(rb"\r\nPID\t", data)]
    at = starts[10] + len(b"\r\nPID\t0x203\r\nV\t1")  # a digit of V in the 11th main block
    corrupted = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    parser = VEDirectParser()
    records = parser.feed(corrupted)
    assert parser.checksum_errors == 1
    assert parser.bytes_discarded == data.index(b"\r\nChecksum\t", at) + 12 - starts[10]
    assert len(records) == 905
    assert records[:20] == good[:20]
    assert records[21:] == good[22:]
    # the history record after the lost main block carries the main block before it
    history = {k: v for k, v in good[21].fields.items() if k.startswith("H")}
    assert records[20].fields == good[19].fields | history


def test_every_single_byte_corruption_of_a_block_is_caught() -> None:
    """Exhaustively: each body byte of the BMV-712 main block, changed, fails the checksum."""
    data = capture(BMV712)
    start = data.index(b"\r\nPID")
    end = data.index(b"\r\nChecksum\t", start)
    framing = set(b":\r\n\t")
    tried = 0
    for at in range(start + 2, end):
        for new in (data[at] ^ 0x01, data[at] ^ 0x40, 0x30):
            if data[at] in framing or new in framing or new == data[at]:
                continue
            parser = VEDirectParser()
            records = parser.feed(data[:at] + bytes([new]) + data[at + 1 :])
            assert parser.checksum_errors == 1
            assert len(records) == 1
            assert "V" not in records[0].fields
            tried += 1
    # 88 body bytes are not framing bytes; 3 changes each, less 11 that are no-ops ('0' -> 0x30)
    # or would make a framing byte: every remaining change was tried
    assert tried == 88 * 3 - 11


def test_not_available_and_unknown_labels() -> None:
    data = block(("PID", "0xA332"), ("T", "---"), ("V", "---"), ("XYZ", "abc"), ("HC#", "3"))
    data += block(("PID", "0xA332"), ("ERR", "99"), ("CS", "200"), ("V", "12a"), ("AR", "-1"))
    first, second = VEDirectParser().feed(data)
    assert first.values["T"] is None
    assert first.values["V"] is None
    assert first.values["XYZ"] == "abc"
    assert first.fields["XYZ"] == "abc"
    assert first.values["HC#"] == "3"
    assert first.model == "Blue Smart IP22 Charger 24|8"
    # undocumented codes and text that does not parse decode to None, never an exception
    assert second.values["ERR"] is None
    assert second.values["CS"] is None
    assert second.values["V"] is None
    assert second.values["AR"] is None
    assert "T" not in second.fields  # the same kind (PID 0xA332): the second block replaced it


def test_decode_tables() -> None:
    assert decode_value("CS", "3") == "bulk"
    assert decode_value("CS", "4") == "absorption"
    assert decode_value("CS", "245") == "starting_up"
    assert decode_value("ERR", "0") == "no_error"
    assert decode_value("ERR", "33") == "input_voltage_too_high"
    assert decode_value("MPPT", "2") == "active"
    assert decode_value("MODE", "253") == "hibernate"
    assert decode_value("MON", "-9") == "solar_charger"
    assert decode_value("MON", "8") == "water_heater"
    assert decode_value("OR", "0x00000009") == ("no_input_power", "remote_input")
    assert decode_value("OR", "0x00000000") == ()
    assert decode_value("OR", "0x00000400") == ("unknown_bit_10",)
    assert decode_value("OR", "9") is None  # OR is hex with 0x
    assert decode_value("AR", "5") == ("low_voltage", "low_soc")
    assert decode_value("WARN", "16384") == ("unknown_bit_14",)
    assert decode_value("AR", "0x1") is None  # AR is decimal
    assert decode_value("TTG", "-1") is None  # infinite
    assert decode_value("TTG", "436") == 436
    assert decode_value("VS", "-12") == -0.012
    assert decode_value("H15", "-22") == -0.022
    assert decode_value("AC_OUT_I", "-3") == -0.3
    assert decode_value("LOAD", "on") is True
    assert decode_value("Relay", "maybe") is None
    assert decode_value("FW", "0405") == "4.05"
    assert decode_value("FW", "139") == "1.39"
    assert decode_value("FWE", "0342FF") == "3.42"
    assert decode_value("FWE", "31604") == "3.16-beta04"
    assert decode_value("FW", "1") is None
    assert decode_value("PID", "0xa381") == 0xA381
    assert decode_value("V", "1_000") is None
    assert decode_value("V", " 12") is None
    assert decode_value("V", "+12") is None
    for options in ENUM_OPTIONS.values():
        assert len(options) == len(set(options))
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", o) for o in options)
    assert ENUM_OPTIONS["CS"] == list(CS_STATES.values())
    assert ENUM_OPTIONS["MODE"] == ["off", "charger", "inverter", "on", "eco", "hibernate"]
    for bits in (OFF_REASONS, ALARM_REASONS):
        assert all(bit.bit_count() == 1 for bit in bits)
        assert len(set(bits.values())) == len(bits)


def test_labels_cover_protocols_md_section_1_6() -> None:
    text = reference_path("protocols.md").read_text(encoding="utf-8")
    section = text.split("### 1.6")[1].split("### 1.7")[0]
    labels: set[str] = set()
    for row in re.findall(r"^\| ([^|]+) \|", section, flags=re.M):
        labels.update(label.strip() for label in row.split(","))
    labels -= {"Label", "---"}
    assert len(labels) == 64
    assert labels == set(LABELS)  # every documented label, and no other
    units = {label: spec.unit for label, spec in LABELS.items()}
    assert {units[x] for x in ("V", "VS", "VM", "VPV", "H7", "AC_OUT_V", "DC_IN_V")} == {"V"}
    assert {units[x] for x in ("I", "IL", "AC_OUT_I", "DC_IN_I")} == {"A"}
    assert {units[x] for x in ("CE", "H1", "H2", "H3", "H6")} == {"Ah"}
    assert {units[x] for x in ("H17", "H18", "H19", "H20", "H22")} == {"kWh"}
    assert {units[x] for x in ("SOC", "DM")} == {"%"}
    assert (units["T"], units["H9"], units["TTG"], units["AC_OUT_S"]) == ("°C", "s", "min", "VA")


def test_pid_table_matches_tsv_exactly() -> None:
    rows = [
        line.split("\t")
        for line in reference_path("vedirect_pid_table.tsv")
        .read_text(encoding="utf-8")
        .splitlines()
        if line and not line.startswith("#")
    ]
    assert len(rows) == 173
    assert {int(pid, 16): model for pid, model in rows} == PID_MODELS
    for pid, model in rows:
        assert model_for_pid(pid) == model
        assert model_for_pid(pid.lower()) == model
        assert model_for_pid(pid[2:]) == model
        assert model_for_pid(int(pid, 16)) == model


def test_model_for_pid() -> None:
    assert model_for_pid("0x203") == model_for_pid("0x0203") == "BMV-700"
    assert model_for_pid("0XA389") == "SmartShunt 500A/50mV"
    assert model_for_pid(41865) == "SmartShunt 500A/50mV"  # Venus OS ProductId, decimal
    assert model_for_pid(" 0xa381 ") == "BMV-712 Smart"
    for bad in ("", "0x", "0xZZZZ", "---", "0x123456789", -1, 0xFFFFFF):
        assert model_for_pid(bad) is None


def test_another_device_on_the_port_starts_afresh() -> None:
    bmv_main = block(("PID", "0x203"), ("V", "12000"))
    bmv_history = block(("H1", "-100"), ("H7", "11000"))
    mppt = block(("PID", "0xA042"), ("V", "13000"), ("VPV", "30000"))
    records = VEDirectParser().feed(bmv_main + bmv_history + bmv_main + mppt + bmv_history)
    assert [set(r.fields) for r in records] == [
        {"PID", "V"},
        {"PID", "V", "H1", "H7"},
        {"PID", "V", "H1", "H7"},
        {"PID", "V", "VPV"},  # another PID: the BMV's history is gone
        {"PID", "V", "VPV", "H1", "H7"},
    ]


def test_a_pid_only_block_is_the_pid_kind() -> None:
    """The kind of a block starting with PID is its whole first line, last line or not."""
    pid_only, history = block(("PID", "0x203")), block(("H1", "-100"))
    data = pid_only + history + block(("PID", "0x203"), ("V", "1")) + pid_only
    assert [r.fields for r in VEDirectParser().feed(data)] == [
        {"PID": "0x203"},
        {"PID": "0x203", "H1": "-100"},
        {"H1": "-100", "PID": "0x203", "V": "1"},
        {"H1": "-100", "PID": "0x203"},
    ]


def test_kinds_are_bounded_and_newest_wins() -> None:
    blocks = [block((f"K{i}", str(i)), ("S", str(i))) for i in range(MAX_KINDS + 2)]
    records = VEDirectParser().feed(b"".join(blocks))
    last = records[-1].fields
    assert len([k for k in last if k.startswith("K")]) == MAX_KINDS
    assert "K0" not in last
    assert "K1" not in last
    assert last["S"] == str(MAX_KINDS + 1)  # a label two kinds share: the newest block wins


def test_case_sensitive_labels() -> None:
    lower = b"\r\nPID\t0x203\r\nchecksum\tx" + block(("V", "1"))
    parser = VEDirectParser()
    (record,) = parser.feed(block(("Alarm", "ON")) + lower)
    assert parser.checksum_errors == 1  # 'checksum' does not end a block: the two run together
    assert record.fields == {"Alarm": "ON"}
    assert record.values == {"Alarm": True}


def test_reset_input_types_and_records() -> None:
    parser = VEDirectParser()
    data = block(("PID", "0x203"), ("V", "12065"))
    assert parser.feed(bytearray(data[:10])) == []
    assert parser.buffered == 10
    parser.reset()
    assert parser.bytes_discarded == 10
    assert parser.feed(memoryview(data[10:])) == []
    assert parser.buffered == 0
    (record,) = parser.feed(data)
    assert record == VEDirectRecord.from_fields({"PID": "0x203", "V": "12065"})
    assert record != VEDirectRecord.from_fields({"PID": "0x203"})
    assert record.values is record.values
    assert record.pid == 0x203
    assert "12065" in repr(record)
    made = VEDirectRecord.from_fields({"SOC": "1000", "FWE": "316FF"})
    assert made.values == {"SOC": 100.0, "FWE": "3.16"}
    assert made.firmware == "3.16"
    assert made.model is None
    assert parser.feed(b"") == []


def test_memory_stays_bounded_on_garbage() -> None:
    rng = random.Random(7)
    parser = VEDirectParser()
    alphabet = b"ab\t\r\n:0123456789ABCDEF"
    for _ in range(400):
        parser.feed(bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 600))))
        assert parser.buffered < MAX_BLOCK + MAX_HEX_FRAME
    before = counters(parser)
    parser.feed(b"\r\n" + b"x" * 100_000)  # a block that never ends, then noise
    assert parser.buffered == 0
    assert parser.overruns == before["overruns"] + 1
    assert parser.bytes_discarded == before["bytes_discarded"] + before["buffered"] + 100_002


# --- Hypothesis: the parser agrees with the reference on anything -------------------------------

FUZZ = settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    b":",
    b"\r",
    b"\n",
    b"\r\n",
    b"\t",
    b"\r\nChecksum\t",
    b"Checksum\t",
    b"---",
    hex_frame("A0102000005"),
    hex_frame("A0102000005", good=False),
    b"\r\nPID\t0x203",
    b"\r\nV\t12000",
]


def chunk_sizes() -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(1, 400), min_size=1, max_size=40)


@st.composite
def generated_blocks(draw: st.DrawFn) -> bytes:
    """Blocks from random fields with the right checksum (sometimes off): mostly well formed."""
    labels = st.sampled_from(["PID", "V", "I", "H1", "H7", "SOC", "CS", "OR", "T", "Alarm"])
    label = st.one_of(labels, labels, st.binary(max_size=11).map(lambda b: b.decode("latin-1")))
    value = st.one_of(
        st.sampled_from(["0x203", "0xA042", "12000", "-1", "---", "ON", "3"]),
        st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=36),
    )
    fields = draw(st.lists(st.tuples(label, value), min_size=0, max_size=6))
    if draw(st.booleans()):
        fields.insert(0, ("PID", draw(st.sampled_from(["0x203", "0xA042", "0xA06C"]))))
    encoded = [(lab.encode("latin-1"), val.encode("latin-1")) for lab, val in fields]
    delta = draw(st.sampled_from([0, 0, 0, 1, 255]))
    return block(*encoded, checksum_delta=delta)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    parts = []
    kinds = st.sampled_from(["block", "block", "token", "noise", "capture", "long"])
    for kind in draw(st.lists(kinds, max_size=12)):
        if kind == "block":
            parts.append(draw(generated_blocks()))
        elif kind == "long":  # text near the block length limit
            parts.append(b"\r\nL\t" + b"x" * draw(st.integers(MAX_BLOCK - 30, MAX_BLOCK + 30)))
        elif kind == "token":
            parts.append(draw(st.sampled_from(TOKENS)))
        elif kind == "noise":
            parts.append(draw(st.binary(max_size=30)))
        else:
            name = draw(st.sampled_from(sorted(EXPECTED)))
            data = capture(name)
            start = draw(st.integers(0, len(data) - 1))
            parts.append(data[start : start + draw(st.integers(1, 600))])
    return b"".join(parts)


@st.composite
def mutated_captures(draw: st.DrawFn) -> bytes:
    data = bytearray(capture(draw(st.sampled_from(sorted(EXPECTED)))))
    start = draw(st.integers(0, max(0, len(data) - 1500)))
    data = data[start : start + 1500]
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["replace", "insert", "delete", "token"]))
        if action == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        else:
            data[at:at] = draw(st.sampled_from(TOKENS))
    return bytes(data)


@FUZZ
@given(data=st.binary(max_size=1500), sizes=chunk_sizes())
def test_fuzz_random_bytes(data: bytes, sizes: list[int]) -> None:
    assert_agrees(data, sizes)


@FUZZ
@given(
    data=st.lists(st.sampled_from([*TOKENS, b"a", b"0", b"\x00"]), max_size=200).map(b"".join),
    sizes=chunk_sizes(),
)
def test_fuzz_protocol_tokens(data: bytes, sizes: list[int]) -> None:
    assert_agrees(data, sizes)


@FUZZ
@given(data=mutated_captures(), sizes=chunk_sizes(), resets=st.sets(st.integers(0, 40), max_size=2))
def test_fuzz_mutated_captures(data: bytes, sizes: list[int], resets: set[int]) -> None:
    assert_agrees(data, sizes, resets=resets)


@FUZZ
@given(data=streams(), sizes=chunk_sizes())
def test_fuzz_generated_streams(data: bytes, sizes: list[int]) -> None:
    assert_agrees(data, sizes)


@settings(deadline=None, max_examples=30)
@given(
    filler=st.integers(MAX_BLOCK - 40, MAX_BLOCK + 3),
    hex_size=st.integers(MAX_HEX_FRAME - 3, MAX_HEX_FRAME + 2),
    sizes=chunk_sizes(),
)
def test_fuzz_limits(filler: int, hex_size: int, sizes: list[int]) -> None:
    """Blocks and HEX frames around their length limits."""
    long_block = block(("PID", "0x203"), *[("F", "a" * 60)] * (filler // 64), ("G", "b" * 20))
    runaway = b":A" + b"0" * (hex_size - 3) + b"\n"
    good, bad = block(("PID", "0x203")), block(("PID", "0x203"), checksum_delta=3)
    data = long_block + runaway + good + bad + long_block + good + long_block[: filler // 2]
    assert_agrees(data, sizes)


@st.composite
def numbered_blocks(draw: st.DrawFn) -> tuple[bytes, list[str], int]:
    """Blocks with an ID field, some with a wrong checksum, some with a HEX frame inside, noise
    between: (stream, IDs of the good blocks in order, expected checksum errors)."""
    noise = st.lists(st.integers(0, 255).filter(lambda b: b not in b"\r\n:"), max_size=8)
    frames = st.sampled_from([hex_frame("A0102000005"), hex_frame("A8DED00800A", good=False)])
    parts: list[bytes] = []
    good_ids: list[str] = []
    errors = 0
    for number in range(draw(st.integers(1, 10))):
        extra = draw(st.lists(st.sampled_from([("V", "1"), ("I", "-5"), ("T", "---")]), max_size=9))
        ok = draw(st.booleans())
        data = block(
            ("PID", "0x203"),
            ("ID", str(number)),
            *extra,
            checksum_delta=0 if ok else draw(st.integers(1, 255)),
        )
        if draw(st.booleans()):  # anywhere but the checksum byte's place
            at = draw(st.integers(0, len(data) - 2))
            data = data[:at] + draw(frames) + data[at:]
        parts += [data, bytes(draw(noise))]
        if ok:
            good_ids.append(str(number))
        elif number:  # the first block may be a fragment: not counted as an error
            errors += 1
    return b"".join(parts), good_ids, errors


@FUZZ
@given(stream=numbered_blocks(), sizes=chunk_sizes())
def test_fuzz_records_only_from_good_blocks(
    stream: tuple[bytes, list[str], int], sizes: list[int]
) -> None:
    """Exactly the blocks built with the right checksum come out, in order, in any chunking."""
    data, good_ids, errors = stream
    parser = VEDirectParser()
    records = feed_all(parser, data, sizes)
    assert [r.fields["ID"] for r in records] == good_ids
    assert parser.checksum_errors == errors

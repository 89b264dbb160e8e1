"""JBD protocol tests on the real captures in ../shared/fixtures/jbd (never copied into the repo).

* jbd_frames.json: every frame's checksum verdict, every stated decode and expected value;
* both btsnoop ATT transcripts: every notification fed in the real order and sizes reassembles to
  exactly the "=>" frames; the FF AA login frames are rebuilt byte for byte;
* frames "derived" below are real capture frames with one field edited and the checksum recomputed
  (NTC count 0, extension bytes, balancing and protection bits, error status), because the shared
  fixtures have no such real frame;
* Hypothesis fuzzes the assembler with random bytes and with real frames cut at random places.
"""

from collections.abc import Callable
import dataclasses
import datetime as dt
from functools import cache
import itertools
import json
import re
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.victron_venus.protocol import jbd
from tests.fakes import jbd_transcript
from tests.shared import fixture_path

BTSNOOP_APP = "syssi_btsnoop_hci_jbd-sp04s034-l4s-200a-b-u.att.txt"
BTSNOOP_FFAA = "syssi_JBD-SP04S034L4S200A-V1.3-btsnoop_hci.att.txt"
TRANSCRIPTS = (BTSNOOP_APP, BTSNOOP_FFAA)

# --- fixture access -------------------------------------------------------------------------------


@cache
def entries() -> list[dict[str, Any]]:
    """The groups of jbd_frames.json (each: source, note, transport, frames, expected)."""
    data: list[dict[str, Any]] = json.loads(
        fixture_path("jbd", "jbd_frames.json").read_text(encoding="utf-8")
    )
    return data


@cache
def transcript(name: str) -> jbd_transcript.Transcript:
    return jbd_transcript.load(fixture_path("jbd", name))


def json_frames() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{i}:{j}:{frame['kind']}", frame)
        for i, entry in enumerate(entries())
        for j, frame in enumerate(entry["frames"])
    ]


def responses() -> list[bytes]:
    """Every distinct real response frame (JSON and both transcripts), in first-seen order."""
    seen: dict[bytes, None] = {}
    for _, frame in json_frames():
        if frame["kind"] == "response":
            seen[bytes.fromhex(frame["hex"])] = None
    for name in TRANSCRIPTS:
        for item in transcript(name).frames:
            seen[item.frame] = None
    return list(seen)


def reference_checksum_ok(frame: bytes) -> bool:
    """Independent restatement of §2.2 for DD frames (two's complement of the byte sum)."""
    return (
        len(frame) == frame[3] + 7
        and frame[0] == 0xDD
        and frame[-1] == 0x77
        and (-sum(frame[2:-3])) % 0x10000 == int.from_bytes(frame[-3:-1], "big")
    )


def rebuild(frame: bytes, payload: bytes, *, status: int | None = None) -> bytes:
    """The response ``frame`` with a new payload (and status), checksum recomputed (§2.2)."""
    body = bytes((frame[2] if status is None else status, len(payload))) + payload
    checksum = (0x10000 - sum(body)) & 0xFFFF
    return bytes((0xDD, frame[1])) + body + checksum.to_bytes(2, "big") + b"\x77"


def first_frame(note_start: str, register: int) -> bytes:
    for entry in entries():
        if entry["note"].startswith(note_start):
            for frame in entry["frames"]:
                if frame["kind"] == "response" and frame["reg"] == register:
                    return bytes.fromhex(frame["hex"])
    raise LookupError(note_start)


def sp04_basic() -> bytes:
    """Real 0x03 frame of the SP04S034 UART capture (4S, 3 NTC)."""
    return first_frame("UART capture JBD-SP04S034", 0x03)


def doc_17s_basic() -> bytes:
    """Real 0x03 frame of the official worked example (17S, 4 NTC, -20.12 A)."""
    return first_frame("doc worked example 0x03", 0x03)


def basic(frame: bytes) -> jbd.BasicInfo:
    record = jbd.parse_frame(frame)
    assert isinstance(record, jbd.BasicInfo)
    return record


def cells(frame: bytes) -> jbd.CellVoltages:
    record = jbd.parse_frame(frame)
    assert isinstance(record, jbd.CellVoltages)
    return record


def feed_all(assembler: jbd.FrameAssembler, chunks: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for chunk in chunks:
        out += assembler.feed(chunk)
        assert assembler.buffered < jbd.MAX_FRAME_LEN
    return out


# --- jbd_frames.json ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame"), [f for _, f in json_frames()], ids=[i for i, _ in json_frames()]
)
def test_json_checksum_verdict(frame: dict[str, Any]) -> None:
    raw = bytes.fromhex(frame["hex"])
    assert jbd.checksum_ok(raw) is frame["checksum_ok"]
    if raw[0] == 0xDD:
        assert reference_checksum_ok(raw) is frame["checksum_ok"]


@pytest.mark.parametrize(
    ("frame"), [f for _, f in json_frames()], ids=[i for i, _ in json_frames()]
)
def test_json_corrupted_byte_fails_checksum(frame: dict[str, Any]) -> None:
    raw = bytes.fromhex(frame["hex"])
    for index in range(len(raw)):
        if raw[0] == 0xDD and index == 1:
            continue  # the register / A5 byte is outside the checksum (§2.2): undetectable
        corrupted = bytearray(raw)
        corrupted[index] ^= 0x01
        assert not jbd.checksum_ok(bytes(corrupted)), index
    assert not jbd.checksum_ok(raw[:-1])
    assert not jbd.checksum_ok(raw + b"\x77")


def _check_basic_decoded(record: jbd.BasicInfo, decoded: dict[str, Any]) -> None:
    assert record.voltage == decoded["voltage_V"]
    assert record.current == decoded["current_A"]
    assert record.remaining_capacity == decoded["remaining_Ah"]
    assert record.nominal_capacity == decoded["nominal_Ah"]
    assert record.cycles == decoded["cycles"]
    assert record.production_date == dt.date.fromisoformat(decoded["production_date"])
    assert record.balance_raw == decoded["balance_low"] | decoded["balance_high"] << 16
    assert record.balancing == [False] * decoded["cells"]
    assert record.protection_raw == decoded["protection"]
    assert record.protection == set()
    assert record.software_version == decoded["sw_version"]
    assert record.soc == decoded["rsoc_pct"]
    assert record.charge_fet is bool(decoded["fet"] & 1)
    assert record.discharge_fet is bool(decoded["fet"] & 2)
    assert record.cell_count == decoded["cells"]
    assert len(record.temperatures) == decoded["ntc_count"]
    assert record.temperatures == decoded["temps_C"]
    assert record.extension == b""


DECODED = [(i, f) for i, f in json_frames() if "decoded" in f]


@pytest.mark.parametrize(("frame"), [f for _, f in DECODED], ids=[i for i, _ in DECODED])
def test_json_decoded_values(frame: dict[str, Any]) -> None:
    record = jbd.parse_frame(bytes.fromhex(frame["hex"]))
    decoded = frame["decoded"]
    match frame["reg"]:
        case 0x03:
            assert isinstance(record, jbd.BasicInfo)
            _check_basic_decoded(record, decoded)
        case 0x04:
            assert record == jbd.CellVoltages(decoded)
        case 0x05:
            assert record == jbd.HardwareInfo(decoded)
        case register:
            pytest.fail(f"no check for decoded register 0x{register:02X}")


def entry_view(entry: dict[str, Any]) -> dict[int, Any]:
    """The first decoded record per register of an entry's response frames."""
    view: dict[int, Any] = {}
    for frame in entry["frames"]:
        if frame["kind"] != "response":
            continue
        raw = bytes.fromhex(frame["hex"])
        if raw[1] == jbd.REG_ERROR_COUNTERS:
            view.setdefault(raw[1], jbd.parse_error_counters(raw))
        elif raw[1] in (0x03, 0x04, 0x05):
            view.setdefault(raw[1], jbd.parse_frame(raw))
    return view


# JSON "expected" key -> our value. Keys come from two vocabularies: the PDF worked example and
# aiobmsble's _RESULT_DEFS.
EXPECTED: dict[str, Callable[[dict[int, Any]], object]] = {
    "voltage_V": lambda v: v[3].voltage,
    "current_A": lambda v: v[3].current,
    "remaining_Ah": lambda v: v[3].remaining_capacity,
    "nominal_Ah": lambda v: v[3].nominal_capacity,
    "cycles": lambda v: v[3].cycles,
    "sw_version_raw": lambda v: "0x" + v[3].software_version.replace(".", ""),
    "rsoc_pct": lambda v: v[3].soc,
    "fet": lambda v: v[3].charge_fet | v[3].discharge_fet << 1,
    "cells": lambda v: v[3].cell_count,
    "ntc_count": lambda v: len(v[3].temperatures),
    "temp1_C": lambda v: v[3].temperatures[0],
    "hw_version": lambda v: v[5].model,
    "voltage": lambda v: v[3].voltage,
    "current": lambda v: v[3].current,
    "battery_level": lambda v: v[3].soc,
    "cycle_charge": lambda v: v[3].remaining_capacity,
    "design_capacity": lambda v: v[3].nominal_capacity,
    "temp_values": lambda v: v[3].temperatures,
    "cell_voltages": lambda v: v[4].voltages,
    "delta_voltage": lambda v: pytest.approx(v[4].delta),
    "problem_code": lambda v: v[3].protection_raw,
    "balancer": lambda v: v[3].balance_raw,
    "chrg_mosfet": lambda v: v[3].charge_fet,
    "dischrg_mosfet": lambda v: v[3].discharge_fet,
    "power": lambda v: pytest.approx(v[3].power),
}
# The PDF's worked example states 24.7 °C for 0x0B98; 0x0B98 = 2968 and (2968 - 2731) / 10 = 23.7,
# as the JSON's own "decoded" block, SOURCES.md and protocols.md §2.4 say.
ERRATA = {("doc worked example 0x03", "temp1_C"): 23.7}
NOT_VALUES = {"note"}

EXPECTED_ENTRIES = [
    (e["note"], e) for e in entries() if e["expected"] and "source_stated" not in str(e["expected"])
]


@pytest.mark.parametrize(
    ("entry"), [e for _, e in EXPECTED_ENTRIES], ids=[n for n, _ in EXPECTED_ENTRIES]
)
def test_json_expected_values(entry: dict[str, Any]) -> None:
    view = entry_view(entry)
    checked = 0
    for key, stated in entry["expected"].items():
        if key in NOT_VALUES:
            continue
        assert key in EXPECTED, f"no mapping for expected key {key!r}"
        erratum = next(
            (v for (n, k), v in ERRATA.items() if k == key and entry["note"].startswith(n)), None
        )
        assert EXPECTED[key](view) == (stated if erratum is None else erratum), key
        checked += 1
    # every stated value was compared (the loop must not skip one, nor run zero times)
    assert checked == len(set(entry["expected"]) - NOT_VALUES) > 0


def test_json_source_stated_text() -> None:
    """The SP04S034 entry states its values as text (syssi frames.h); check every figure in it."""
    (entry,) = [e for e in entries() if "source_stated" in str(e["expected"])]
    (text,) = entry["expected"].values()
    view = entry_view(entry)
    info, cell, hardware, counters = view[3], view[4], view[5], view[0xAA]

    def stated(pattern: str) -> str:
        match = re.search(pattern, text)
        assert match, pattern
        return match.group(1)

    def number(pattern: str) -> float:
        return float(stated(pattern))

    assert info.voltage == number(r"total_voltage ([\d.]+) V")
    assert info.current == number(r"current ([-\d.]+) A")
    assert info.remaining_capacity == number(r"capacity_remaining ([\d.]+) Ah")
    assert info.nominal_capacity == number(r"nominal ([\d.]+) Ah")
    assert info.cycles == number(r"cycles (\d+)")
    assert info.soc == number(r"soc (\d+) %")
    assert info.software_version == stated(r"sw ([\d.]+)")
    assert (info.charge_fet, info.discharge_fet) == (True, True)
    assert "charging+discharging" in text and "FET 0x03" in text
    assert info.cell_count == number(r"(\d+) cells")
    assert len(info.temperatures) == number(r"(\d+) NTC")
    assert info.temperatures == [float(t) for t in stated(r"NTC: ([\d./]+) C").split("/")]
    assert cell.voltages == [float(v) for v in stated(r"cells ([\d./]+) V").split("/")]
    assert hardware.model == stated(r'model "([^"]+)"')
    assert counters.counts["cell_overvoltage"] == number(r"cell_overvoltage (\d+)")
    assert counters.counts["cell_undervoltage"] == number(r"cell_undervoltage (\d+)")
    others = set(jbd.ERROR_COUNTER_NAMES) - {"cell_overvoltage", "cell_undervoltage"}
    assert {counters.counts[name] for name in others} == {0}


def test_json_requests_equal_request_builder() -> None:
    checked = 0
    for _, frame in json_frames():
        raw = bytes.fromhex(frame["hex"])
        if frame["kind"] == "read-req":
            assert jbd.request(frame["reg"]) == raw
            checked += 1
        elif frame["kind"] == "write-req":
            assert jbd.write_request(frame["reg"], raw[4:-3]) == raw
            checked += 1
    assert checked == 3 + 1 + 4


def test_documented_request_table() -> None:
    """protocols.md §2.2 "Read requests" table."""
    assert jbd.request(0x03) == bytes.fromhex("DDA50300FFFD77")
    assert jbd.request(0x04) == bytes.fromhex("DDA50400FFFC77")
    assert jbd.request(0x05) == bytes.fromhex("DDA50500FFFB77")
    assert jbd.request(0xAA) == bytes.fromhex("DDA5AA00FF5677")
    assert jbd.write_request(0x00, b"\x56\x78") == bytes.fromhex("DD5A00025678FF3077")
    with pytest.raises(ValueError, match="register"):
        jbd.request(0x100)
    with pytest.raises(ValueError, match="register"):
        jbd.request(-1)
    with pytest.raises(ValueError, match="255"):
        jbd.write_request(0x10, bytes(256))


def test_json_ff_aa_frames() -> None:
    """communications2.txt frames: app key, ACK, random, NACK/ACK of the password, root ACK."""
    frames = [
        bytes.fromhex(f["hex"])
        for e in entries()
        if e["transport"] == "ble-auth"
        for f in e["frames"]
    ]
    assert frames[0] == jbd.app_key_frame()
    assert frames[2] == jbd.random_request_frame()
    replies = [jbd.parse_auth_reply(f) for f in frames]
    assert [(r.command, r.status, r.accepted) for r in replies] == [
        (0x15, None, False),  # the request itself: 6 data bytes, no status
        (0x15, 0x00, True),
        (0x17, None, False),  # the random request: no data
        (0x17, None, True),
        (0x18, 0x01, False),  # NACK: wrong password
        (0x18, 0x00, True),
        (0x1D, 0x00, True),
    ]
    assert replies[3].random == 0x62
    assert replies[0].random is None


# --- the two btsnoop transcripts ------------------------------------------------------------------


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_transcript_stream_reassembles_to_the_stated_frames(name: str) -> None:
    """All notifications of the capture, in order and as sent, through one assembler."""
    log = transcript(name)
    assembler = jbd.FrameAssembler()
    out = feed_all(assembler, log.notifications())
    assert out == [item.frame for item in log.frames]
    assert assembler.frames == len(log.frames)
    assert assembler.checksum_errors == assembler.framing_errors == 0
    assert assembler.bytes_discarded == 1  # the lone 00 notification right after connecting
    assert assembler.buffered == 0


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_transcript_each_sequence_completes_on_its_last_chunk(name: str) -> None:
    log = transcript(name)
    multi = 0
    for item in log.frames:
        assembler = jbd.FrameAssembler()
        *head, last = item.chunks
        for chunk in head:
            assert assembler.feed(chunk) == []
            multi += 1
        assert assembler.feed(last) == [item.frame]
        assert all(len(chunk) <= 20 for chunk in item.chunks)
    # with the default ATT MTU a frame comes in ceil(len / 20) notifications (§2.1): the 36-byte
    # 0x03 frames as 20 + 16, the 31- and 33-byte 0xAA / 0xA1 frames of the app capture in two
    assert multi == sum(-(-len(item.frame) // 20) - 1 for item in log.frames)
    assert multi == {BTSNOOP_APP: 66 + 1 + 1, BTSNOOP_FFAA: 25}[name]


def test_transcript_ff_aa_replies_are_skipped_by_the_assembler() -> None:
    log = transcript(BTSNOOP_FFAA)
    assembler = jbd.FrameAssembler()
    feed_all(assembler, log.notifications())
    auth_replies = [c for c in log.notifications() if jbd.is_auth_frame(c)]
    assert len(auth_replies) == 10
    assert assembler.frames_skipped == 10


def test_transcript_frames_decode() -> None:
    app = [basic(f.frame) for f in transcript(BTSNOOP_APP).frames if f.register == 0x03]
    assert {(b.voltage, b.current, b.nominal_capacity, b.software_version) for b in app} == {
        (13.7, 0.0, 280.0, "8.0")
    }
    assert {tuple(b.temperatures) for b in app} == {
        (19.5, 19.5, 19.1),  # 0x0B6E 0x0B6E 0x0B6A
        (19.5, 19.6, 19.1),
        (19.6, 19.5, 19.1),
    }
    assert {(b.remaining_capacity, b.soc, b.cell_count) for b in app} == {(279.98, 100, 4)}
    assert {
        cells(f.frame).voltages[0] for f in transcript(BTSNOOP_APP).frames if f.register == 4
    } == {
        3.43,
        3.431,
    }
    v13 = basic(transcript(BTSNOOP_FFAA).frames[0].frame)
    assert v13.voltage == 13.93
    assert v13.remaining_capacity == 199.91
    assert v13.nominal_capacity == 200.0
    assert v13.cycles == 2
    assert v13.production_date == dt.date(2024, 8, 26)
    assert v13.software_version == "4.4"
    assert v13.soc == 100
    assert v13.temperatures == [28.6, 28.0, 28.1]
    assert v13.balancing == [False] * 4
    assert v13.protection == set()


def test_transcript_error_counters_and_parameter_registers() -> None:
    frames = {f.register: f.frame for f in transcript(BTSNOOP_APP).frames}
    counters = jbd.parse_error_counters(frames[0xAA])
    assert counters.counts == dict.fromkeys(jbd.ERROR_COUNTER_NAMES, 0) | {"cell_undervoltage": 1}
    for register in (0x10, 0x2F, 0xA0, 0xA1, 0xAA):
        with pytest.raises(jbd.UnknownRegisterError) as err:
            jbd.parse_frame(frames[register])
        assert err.value.register == register
    with pytest.raises(jbd.UnknownRegisterError):
        jbd.parse_error_counters(frames[0x03])


def test_transcript_error_status_0x81() -> None:
    """The FF AA capture has ``DD 24 81 00 FF 7F 77``: register 0x24 refused with status 0x81."""
    (refused,) = {f.frame for f in transcript(BTSNOOP_FFAA).frames if f.frame[2] != 0}
    assert refused == bytes.fromhex("dd248100ff7f77")
    with pytest.raises(jbd.StatusError) as err:
        jbd.parse_frame(refused)
    assert (err.value.register, err.value.status) == (0x24, 0x81)


def test_transcript_requests_equal_request_builder() -> None:
    checked = 0
    for name in TRANSCRIPTS:
        for exchange in transcript(name).exchanges:
            raw = exchange.request
            if exchange.kind == "read-req" and raw[3] == 0:
                assert jbd.request(raw[2]) == raw
                checked += 1
            elif exchange.kind in ("read-req", "write-req"):  # reads with data, and writes
                assert jbd.checksum_ok(raw)
                if raw[1] == 0x5A:
                    assert jbd.write_request(raw[2], raw[4:-3]) == raw
                    checked += 1
    # every data-less read and every write of both captures: 195 reads and 4 writes in the app
    # capture, 66 reads and 10 writes in the FF AA one (its 4 reads with data are only checked)
    assert checked == 195 + 4 + 66 + 10


MAC = "10:A5:62:32:75:36"  # not in the capture: see test_transcript_login_frames
ROOT_PASSWORD = "JBDbtpwd!@#2023"  # syssi docs/ffaa-auth-flow/root-password.txt


def test_transcript_login_frames() -> None:
    """Both login sessions of the FF AA capture, rebuilt byte for byte.

    The capture does not name the module's MAC or password. Password "123456" (syssi issues #94,
    #145) makes the MAC 10:A5:62:32:75:36, an OUI JBD modules use (§2.1); the same MAC then
    reproduces both sessions' 0x18 and 0x1D frames under four different random bytes.
    """
    log = transcript(BTSNOOP_FFAA)
    auth = [x for x in log.exchanges if x.kind == "auth"]
    assert [x.request[2] for x in auth] == [0x15, 0x17, 0x18, 0x17, 0x1D] * 2
    assert all(x.answered for x in auth)
    random_byte = -1
    randoms = []
    for exchange in auth:
        reply = jbd.parse_auth_reply(exchange.response)
        assert reply.command == exchange.request[2]
        assert reply.accepted
        match exchange.request[2]:
            case jbd.AUTH_APP_KEY:
                assert exchange.request == jbd.app_key_frame("000000")
                assert reply.status == 0x00
            case jbd.AUTH_RANDOM:
                assert exchange.request == jbd.random_request_frame()
                assert reply.random is not None
                random_byte = reply.random
                randoms.append(random_byte)
            case jbd.AUTH_PASSWORD:
                assert exchange.request == jbd.password_frame("123456", MAC, random_byte)
            case jbd.AUTH_ROOT_PASSWORD:
                assert exchange.request == jbd.root_password_frame(ROOT_PASSWORD, MAC, random_byte)
    assert randoms == [0x24, 0xC9, 0x45, 0xF3]


def test_password_frame_syssi_worked_example() -> None:
    """syssi docs/ffaa-auth-flow/send-first-level-password-123412.txt (MAC a4:c1:37:04:2d:be)."""
    expected = bytes.fromhex("ffaa1806f65465917dedc8")
    assert jbd.password_frame("123412", "a4:c1:37:04:2d:be", 0x61) == expected
    assert jbd.password_frame("123412", bytes.fromhex("a4c137042dbe"), 0x61) == expected
    assert jbd.password_frame("123412", "A4-C1-37-04-2D-BE", 0x61) == expected


def test_auth_errors() -> None:
    with pytest.raises(jbd.AuthError):
        jbd.parse_auth_reply(bytes.fromhex("ffaa15010017"))  # sum off by one
    with pytest.raises(jbd.AuthError):
        jbd.parse_auth_reply(bytes.fromhex("ffaa15020016"))  # length byte says 2
    with pytest.raises(jbd.AuthError):
        jbd.parse_auth_reply(bytes.fromhex("dd03000000ff77"))
    with pytest.raises(jbd.AuthError):
        jbd.app_key_frame("")
    with pytest.raises(jbd.AuthError):
        jbd.password_frame("pässword", MAC, 1)
    with pytest.raises(jbd.AuthError):
        jbd.password_frame("123456", "10:A5:62", 1)
    with pytest.raises(jbd.AuthError):
        jbd.password_frame("123456", "zz:A5:62:32:75:36", 1)
    with pytest.raises(ValueError, match="random"):
        jbd.password_frame("123456", MAC, 256)
    with pytest.raises(jbd.AuthError):
        jbd.auth_frame(0x15, bytes(256))
    assert isinstance(jbd.AuthError("x"), ValueError)


def test_replayed_login_and_poll() -> None:
    """What the fake BleakClient will do: log in and poll against the FF AA capture's answers."""
    replay = jbd_transcript.Replayer(transcript(BTSNOOP_FFAA))
    assert jbd.parse_auth_reply(*replay.respond(jbd.app_key_frame())).accepted
    random_byte = jbd.parse_auth_reply(*replay.respond(jbd.random_request_frame())).random
    assert random_byte == 0x24
    ack = replay.respond(jbd.password_frame("123456", MAC, random_byte))
    assert jbd.parse_auth_reply(*ack).accepted
    assert replay.respond(jbd.password_frame("654321", MAC, random_byte)) == []  # never answered
    assembler = jbd.FrameAssembler()
    records = [
        jbd.parse_frame(frame)
        for register in (0x03, 0x04)
        for frame in feed_all(assembler, replay.respond(jbd.request(register)))
    ]
    assert [type(r) for r in records] == [jbd.BasicInfo, jbd.CellVoltages]
    assert isinstance(records[1], jbd.CellVoltages)
    assert records[1].voltages == [3.463, 3.521, 3.53, 3.417]


# --- tests/fakes/jbd_transcript.py ----------------------------------------------------------------


def test_transcript_module_events_and_exchanges() -> None:
    app = transcript(BTSNOOP_APP)
    assert len(app.frames) == 198
    assert sum(e.direction == "rx" for e in app.events) == 267
    assert sum(e.direction == "tx" for e in app.events) == 200
    assert app.stray == [b"\x00"]
    dd = [x for x in app.exchanges if x.request[0] == 0xDD]
    assert sum(x.answered for x in dd) == 198
    for exchange in dd:
        if exchange.answered:
            assert exchange.response[1] == exchange.request[2]
            assert exchange.response in {f.frame for f in app.frames}
    first_basic = app.response_chunks(jbd.request(0x03))
    assert [len(c) for c in first_basic] == [20, 16]
    assert b"".join(first_basic) == app.frames[0].frame
    assert app.response_chunks(jbd.request(0x05)) == []  # the app never read 0x05 here
    assert app.response_chunks(jbd.request(0x03), occurrence=10_000) == []
    assert len(app.responses_for(jbd.request(0x03))) == 66


def test_transcript_module_unanswered_reads_after_reconnect() -> None:
    """After the reconnect in the FF AA capture, reads go unanswered until the login is redone."""
    log = transcript(BTSNOOP_FFAA)
    unanswered = [x for x in log.exchanges if not x.answered]
    reconnect = [e.line for e in log.events if e.handle == jbd_transcript.CCCD_HANDLE][1]
    relogin = [x.line for x in log.exchanges if x.request == jbd.app_key_frame()][1]
    between = [x for x in log.exchanges if reconnect < x.line < relogin]
    assert between
    assert all(x in unanswered for x in between)
    assert {x.request for x in between} == {jbd.request(3), jbd.request(4)}


def test_replayer_cycles_in_capture_order() -> None:
    log = transcript(BTSNOOP_APP)
    replay = jbd_transcript.Replayer(log)
    answers = log.responses_for(jbd.request(0x04))
    got = [replay.respond(jbd.request(0x04)) for _ in range(len(answers) + 1)]
    assert got[:-1] == answers
    assert got[-1] == answers[0]
    assert jbd.request(0x03) in replay.requests
    assert replay.respond(jbd.request(0x05)) == []


def test_transcript_parser_rejects_inconsistent_text() -> None:
    good = (
        "# header\n"
        "tx WRITE handle=0x0015 len=7 dda50400fffc77\n"
        "  => REQUEST OK  read-req reg=0x04\n"
        "rx NOTIFY handle=0x0011 len=15 dd0400080d660d610d680d59fe3c77\n"
        "  => FRAME OK  reg=0x04 dd0400080d660d610d680d59fe3c77\n"
    )
    parsed = jbd_transcript.parse(good)
    assert parsed.exchanges[0].kind == "read-req"
    assert parsed.exchanges[0].chunks == [bytes.fromhex("dd0400080d660d610d680d59fe3c77")]
    with pytest.raises(jbd_transcript.TranscriptError, match="join"):
        jbd_transcript.parse(good.replace("fe3c77\n  =>", "fe3c\n  =>").replace("len=15", "len=14"))
    with pytest.raises(jbd_transcript.TranscriptError, match="len="):
        jbd_transcript.parse(good.replace("len=7", "len=8"))
    with pytest.raises(jbd_transcript.TranscriptError, match="cannot parse"):
        jbd_transcript.parse(good + "garbage line\n")


# --- decoding edge cases (derived frames) ---------------------------------------------------------


def test_negative_current() -> None:
    assert basic(doc_17s_basic()).current == -20.12
    aiobmsble_mock = first_frame("aiobmsble test mock", 0x03)
    assert basic(aiobmsble_mock).current == -2.87
    assert basic(aiobmsble_mock).power == pytest.approx(15.6 * -2.87)
    # 0xFFCB = -0.53 A (communications2.txt, §2.7), on the real SP04S034 frame
    frame = sp04_basic()
    derived = rebuild(frame, frame[4:6] + b"\xff\xcb" + frame[8:-3])
    assert basic(derived).current == -0.53


def test_ntc_count_zero() -> None:
    """Payload length 0x17 = 23, no temperatures (the SP25S003 16S case of §2.4)."""
    frame = sp04_basic()
    payload = frame[4:-3]
    derived = rebuild(frame, payload[:22] + b"\x00")
    assert derived[3] == 0x17
    record = basic(derived)
    assert record.temperatures == []
    assert record.extension == b""
    assert record.voltage == 15.6
    assert record.cell_count == 4


def test_extension_bytes_are_tolerated() -> None:
    """Newer firmware appends 9 bytes after the temperatures (DP04S007, §2.4)."""
    frame = sp04_basic()
    extension = bytes.fromhex("0000004e204adf0000")
    derived = rebuild(frame, frame[4:-3] + extension)
    record = basic(derived)
    assert record.extension == extension
    assert record == dataclasses.replace(basic(frame), extension=extension)
    assert len(derived) == 45  # the 20 + 20 + 5 BLE case of dbus-btbattery issue #14
    assembler = jbd.FrameAssembler()
    assert feed_all(assembler, [derived[:20], derived[20:40], derived[40:]]) == [derived]


def test_short_payloads_raise_payload_length_error() -> None:
    frame = sp04_basic()
    payload = frame[4:-3]
    with pytest.raises(jbd.PayloadLengthError):
        jbd.parse_frame(rebuild(frame, payload[:22]))  # shorter than the fixed 23 bytes
    with pytest.raises(jbd.PayloadLengthError):
        jbd.parse_frame(rebuild(frame, payload[:-2]))  # 3 NTC announced, 2 present
    cell_frame = first_frame("UART capture JBD-SP04S034", 0x04)
    with pytest.raises(jbd.PayloadLengthError):
        jbd.parse_frame(rebuild(cell_frame, cell_frame[4:-4]))  # odd: 7 bytes
    with pytest.raises(jbd.PayloadLengthError):
        jbd.parse_error_counters(rebuild(bytes.fromhex("ddaa0000000077"), bytes(20)))
    assert issubclass(jbd.PayloadLengthError, jbd.JBDError)


def test_balancing_lsb_is_cell_1_and_high_word_is_cells_17_32() -> None:
    frame = doc_17s_basic()  # 17 cells
    payload = bytearray(frame[4:-3])
    struct.pack_into(">HH", payload, 12, 0b101, 0b1)  # cells 1 and 3, and cell 17
    record = basic(rebuild(frame, bytes(payload)))
    assert [i + 1 for i, on in enumerate(record.balancing) if on] == [1, 3, 17]
    assert len(record.balancing) == record.cell_count == 17
    assert record.balance_raw == 0x10005


def test_protection_flags() -> None:
    assert len(jbd.PROTECTION_FLAGS) == len(set(jbd.PROTECTION_FLAGS)) == 14
    assert all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", name) for name in jbd.PROTECTION_FLAGS)
    frame = sp04_basic()
    payload = bytearray(frame[4:-3])
    # syssi frames.h states 0x0001 = cell overvoltage and 0x1000 = MOS software lock
    for raw, names in [
        (0x0001, {"cell_overvoltage"}),
        (0x1000, {"mos_software_lock"}),
        (0x0400, {"short_circuit"}),
        (0xC200, {"discharge_overcurrent"}),  # bits 14-15 are reserved: raw only
        (0x3FFF, set(jbd.PROTECTION_FLAGS)),
    ]:
        struct.pack_into(">H", payload, 16, raw)
        record = basic(rebuild(frame, bytes(payload)))
        assert record.protection == names
        assert record.protection_raw == raw


def test_fets_and_invalid_production_date() -> None:
    frame = sp04_basic()
    payload = bytearray(frame[4:-3])
    payload[20] = 0x02
    struct.pack_into(">H", payload, 10, 0)
    record = basic(rebuild(frame, bytes(payload)))
    assert (record.charge_fet, record.discharge_fet) == (False, True)
    assert record.production_date is None
    struct.pack_into(">H", payload, 10, (22 << 9) | (2 << 5) | 30)  # 30 February 2022
    assert basic(rebuild(frame, bytes(payload))).production_date is None


def test_error_status_0x80_raises_status_error() -> None:
    """Status 0x80 = error (§2.2): the assembler passes the verified frame, parse_frame raises."""
    refused = rebuild(bytes.fromhex("dd030000000077"), b"", status=0x80)
    assert refused == bytes.fromhex("dd038000ff8077")
    assert jbd.FrameAssembler().feed(refused) == [refused]
    with pytest.raises(jbd.StatusError) as err:
        jbd.parse_frame(refused)
    assert (err.value.register, err.value.status) == (0x03, 0x80)
    assert isinstance(err.value, ValueError)


def test_malformed_frames_raise_frame_errors() -> None:
    frame = sp04_basic()
    with pytest.raises(jbd.ChecksumError):
        jbd.parse_frame(frame[:-3] + bytes((frame[-3], frame[-2] ^ 1)) + b"\x77")
    with pytest.raises(jbd.FrameError, match="length"):
        jbd.parse_frame(frame[:-1] + b"\x00\x77")
    with pytest.raises(jbd.FrameError):
        jbd.parse_frame(frame[:-1] + b"\x78")
    with pytest.raises(jbd.FrameError):
        jbd.parse_frame(b"\xdd\x03")
    with pytest.raises(jbd.FrameError, match="request"):
        jbd.parse_frame(jbd.request(0x03))
    with pytest.raises(jbd.UnknownRegisterError):
        jbd.parse_frame(bytes.fromhex("dde10000000077"))  # the MOS-control ack is empty
    assert issubclass(jbd.ChecksumError, jbd.FrameError)


def test_hardware_info_model() -> None:
    model = first_frame("UART capture JBD-SP04S034", 0x05)
    assert jbd.parse_frame(model) == jbd.HardwareInfo("JBD-SP04S034-L4S-200A-B-U")
    padded = rebuild(model, model[4:-3] + b"\x00\x00")
    assert jbd.parse_frame(padded) == jbd.HardwareInfo("JBD-SP04S034-L4S-200A-B-U")


# --- assembler behaviour --------------------------------------------------------------------------


def dd_rich_cell_frame() -> bytes:
    """A 16-cell 0x04 frame at 3.536-3.551 V: every cell's low byte is 0xDx, several are 0xDD."""
    millivolts = [
        3549,
        3550,
        3548,
        3551,
        3549,
        3549,
        3550,
        3549,
        3549,
        3549,
        3541,
        3549,
        3536,
        3549,
        3549,
        3549,
    ]
    return rebuild(bytes.fromhex("dd040000000077"), struct.pack(">16H", *millivolts))


def test_continuation_chunks_starting_with_dd() -> None:
    frame = dd_rich_cell_frame()
    assert cells(frame).voltages[0] == 3.549
    starts_with_dd = 0
    for cut in range(1, len(frame)):
        for second in range(cut + 1, len(frame) + 1):
            chunks = [frame[:cut], frame[cut:second], frame[second:]]
            starts_with_dd += frame[cut] == 0xDD
            assembler = jbd.FrameAssembler()
            assert feed_all(assembler, [c for c in chunks if c]) == [frame]
            assert assembler.bytes_discarded == 0
    # a second chunk starts with 0xDD at each of the 10 DD bytes after the first (positions 5,
    # 13, 15, 19, 21, 23, 27, 31, 33, 35 of the 39-byte frame), once per later second cut
    assert [i for i in range(1, len(frame)) if frame[i] == 0xDD] == [
        5,
        13,
        15,
        19,
        21,
        23,
        27,
        31,
        33,
        35,
    ]
    assert starts_with_dd == sum(len(frame) - i for i in (5, 13, 15, 19, 21, 23, 27, 31, 33, 35))


def test_frames_back_to_back_in_one_read() -> None:
    stream = b"".join(responses())
    assembler = jbd.FrameAssembler()
    assert assembler.feed(stream) == responses()
    assert assembler.buffered == 0


@pytest.mark.parametrize("garbage", [b"", b"\x01\x02"])
def test_false_start_with_a_long_length_does_not_stall(garbage: bytes) -> None:
    """Garbage ``DD 03 00 F0`` announces 247 bytes; the real frame after it is returned at once."""
    frame = first_frame("UART capture JBD-SP04S034", 0x04)
    assembler = jbd.FrameAssembler()
    assert assembler.feed(garbage + b"\xdd\x03\x00\xf0\x55" + frame) == [frame]
    assert assembler.bytes_discarded == len(garbage) + 5
    assert assembler.buffered == 0


def test_false_start_that_ends_on_a_real_tail_gives_back_the_frame_inside() -> None:
    """``DD 03 00 0C`` + a 15-byte frame: the bogus candidate ends on the real 0x77, fails its
    checksum and must give back every byte after its own 0xDD."""
    frame = first_frame("UART capture JBD-SP04S034", 0x04)
    stream = b"\xdd\x03\x00\x0c" + frame
    assert stream[0x0C + 7 - 1] == 0x77
    assembler = jbd.FrameAssembler()
    assert assembler.feed(stream) == [frame]
    assert assembler.checksum_errors == 1
    assert assembler.bytes_discarded == 4


def test_implausible_status_is_rejected_at_once() -> None:
    """A response's status is 00 or has bit 7 set; ``DD xx 0E`` is garbage, even if it verifies."""
    frame = first_frame("UART capture JBD-SP04S034", 0x04)
    assembler = jbd.FrameAssembler()
    assert assembler.feed(b"\xdd\x0d\x0e\x05") == []
    assert assembler.buffered == 0
    assert assembler.feed(frame[:5]) == []
    assert assembler.feed(frame[5:]) == [frame]
    status_05 = bytes.fromhex("dd030500fffb77")
    assert jbd.checksum_ok(status_05)
    assert assembler.feed(status_05) == []
    assert assembler.feed(b"\x00" + status_05 + frame) == [frame]


def test_corrupted_frame_then_good_frame() -> None:
    good = first_frame("UART capture JBD-SP04S034", 0x04)
    bad = bytearray(good)
    bad[6] ^= 0x40
    assembler = jbd.FrameAssembler()
    assert assembler.feed(bytes(bad) + good) == [good]
    assert assembler.checksum_errors == 1
    assert assembler.bytes_discarded == len(bad)
    no_tail = good[:-1] + b"\x00"
    assert assembler.feed(no_tail + good) == [good]
    assert assembler.framing_errors == 1


def test_request_echo_is_skipped_and_requests_side_keeps_them() -> None:
    frame = first_frame("UART capture JBD-SP04S034", 0x04)
    host = jbd.FrameAssembler()
    assert host.feed(jbd.request(0x04) + frame) == [frame]
    assert host.feed(jbd.request(0x03)) == []
    assert host.frames_skipped == 2
    bms = jbd.FrameAssembler(requests=True)
    assert bms.feed(jbd.request(0x04)[:3]) == []
    assert bms.feed(jbd.request(0x04)[3:] + frame + jbd.write_request(0xE1, b"\x00\x02")) == [
        jbd.request(0x04),
        jbd.write_request(0xE1, b"\x00\x02"),
    ]
    assert bms.frames_skipped == 1


def test_ff_aa_chunk_in_the_middle_of_a_frame_is_skipped() -> None:
    frame = sp04_basic()
    assembler = jbd.FrameAssembler()
    assert assembler.feed(frame[:20]) == []
    assert assembler.feed(bytes.fromhex("ffaa1701ddf5")) == []  # random byte 0xDD
    assert assembler.feed(frame[20:]) == [frame]
    assert assembler.frames_skipped == 1
    assert assembler.bytes_discarded == 0


def test_reset_drops_a_partial_frame() -> None:
    frame = sp04_basic()
    assembler = jbd.FrameAssembler()
    assembler.feed(frame[:20])
    assert assembler.buffered == 20
    assembler.reset()
    assert assembler.buffered == 0
    assert assembler.bytes_discarded == 20
    assert assembler.feed(frame[20:]) == []
    assert assembler.feed(frame) == [frame]
    assert assembler.feed(b"") == []


# --- Hypothesis -----------------------------------------------------------------------------------


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({p % (len(data) + 1) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


FUZZ = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
no_dd = st.binary(max_size=48).map(lambda b: b.replace(b"\xdd", b"\x00"))


@FUZZ
@given(data=st.binary(max_size=2000), points=st.lists(st.integers(0, 2000), max_size=40))
def test_fuzz_random_bytes_never_raise_never_emit_bad_frames(
    data: bytes, points: list[int]
) -> None:
    assembler = jbd.FrameAssembler()
    for frame in feed_all(assembler, cut(data, points)):
        assert reference_checksum_ok(frame)
        assert frame[2] == 0 or frame[2] >= 0x80


@FUZZ
@given(
    picks=st.lists(st.sampled_from(responses()), min_size=1, max_size=8),
    garbage=st.lists(no_dd, min_size=9, max_size=9),
    points=st.lists(st.integers(0, 4000), max_size=60),
)
def test_fuzz_every_frame_recovered_from_garbage_without_dd(
    picks: list[bytes], garbage: list[bytes], points: list[int]
) -> None:
    stream = garbage[0] + b"".join(f + g for f, g in zip(picks, garbage[1:], strict=False))
    assembler = jbd.FrameAssembler()
    assert feed_all(assembler, cut(stream, points)) == picks
    assert assembler.frames == len(picks)


@FUZZ
@given(
    picks=st.lists(st.sampled_from(responses()), min_size=1, max_size=6),
    garbage=st.lists(st.binary(max_size=64), min_size=7, max_size=7),
    points=st.lists(st.integers(0, 4000), max_size=60),
)
def test_fuzz_real_frames_with_any_garbage(
    picks: list[bytes], garbage: list[bytes], points: list[int]
) -> None:
    """With 0xDD in the garbage a false start may swallow a frame; nothing else may go wrong."""
    stream = garbage[0] + b"".join(f + g for f, g in zip(picks, garbage[1:], strict=False))
    assembler = jbd.FrameAssembler()
    out = feed_all(assembler, cut(stream, points))
    assert all(reference_checksum_ok(frame) for frame in out)
    assert assembler.frames == len(out)
    real = [f for f in out if f in picks]
    assert len(real) >= len(picks) - sum(g.count(b"\xdd") for g in garbage)


@FUZZ
@given(
    register=st.integers(0, 255),
    data=st.binary(max_size=255),
    points=st.lists(st.integers(0, 300), max_size=12),
)
def test_fuzz_built_requests_round_trip(register: int, data: bytes, points: list[int]) -> None:
    frame = jbd.write_request(register, data)
    assert reference_checksum_ok(frame)
    assert feed_all(jbd.FrameAssembler(requests=True), cut(frame, points)) == [frame]


@FUZZ
@given(
    millivolts=st.lists(st.integers(0, 0xFFFF), max_size=127),
    points=st.lists(st.integers(0, 300), max_size=12),
)
def test_fuzz_cell_frames_round_trip(millivolts: list[int], points: list[int]) -> None:
    frame = rebuild(
        bytes.fromhex("dd040000000077"), struct.pack(f">{len(millivolts)}H", *millivolts)
    )
    (got,) = feed_all(jbd.FrameAssembler(), cut(frame, points))
    assert cells(got).voltages == [mv / 1000 for mv in millivolts]

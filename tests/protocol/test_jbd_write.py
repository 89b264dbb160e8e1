"""JBD register writes: the MOSFET control sequence and the write acknowledgement parser.

Checked against the real captures in ../shared/fixtures/jbd (never copied into the repo):

* both btsnoop ATT transcripts of the vendor app: the factory-mode enter and exit writes and the
  BMS's empty acknowledgements to every write the app sent;
* jbd_frames.json: the 0xE1 writes of syssi's UART capture JBD-SP04S034-L4S-200A-B-U_MOS.txt (each
  followed by the factory-mode exit) and the protocol document's 0xE1 example.

No capture holds a whole enter/0xE1/exit sequence (syssi's btsnoop-mosfets-onoff.log is not among
the shared fixtures), so the sequence is checked frame by frame against the app's frames.
"""

from functools import cache
import json
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.victron_venus.protocol import jbd
from tests.fakes import jbd_transcript
from tests.shared import fixture_path

TRANSCRIPTS = (
    "syssi_btsnoop_hci_jbd-sp04s034-l4s-200a-b-u.att.txt",
    "syssi_JBD-SP04S034L4S200A-V1.3-btsnoop_hci.att.txt",
)
MOS_CAPTURE = "JBD-SP04S034-L4S-200A-B-U_MOS.txt"


@cache
def transcript(name: str) -> jbd_transcript.Transcript:
    return jbd_transcript.load(fixture_path("jbd", name))


@cache
def entries() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(
        fixture_path("jbd", "jbd_frames.json").read_text(encoding="utf-8")
    )
    return data


def app_writes(register: int) -> set[bytes]:
    """Every DD 5A write to ``register`` the vendor app sent in the btsnoop transcripts."""
    return {
        x.request
        for name in TRANSCRIPTS
        for x in transcript(name).exchanges
        if x.request[:2] == b"\xdd\x5a" and x.request[2] == register
    }


def mos_capture_writes() -> list[bytes]:
    """The write requests of the UART MOS capture group in jbd_frames.json, in file order."""
    (group,) = [e for e in entries() if e["source"].endswith(MOS_CAPTURE)]
    return [bytes.fromhex(f["hex"]) for f in group["frames"] if f["kind"] == "write-req"]


def test_sequence_frames_equal_the_apps_frames() -> None:
    """Enter and exit are byte-equal to what the app sends; 0xE1 to the UART capture's writes."""
    enter, _, leave = jbd.mosfet_control(charge=True, discharge=True)
    assert app_writes(jbd.REG_ENTER_FACTORY) == {enter}
    assert app_writes(jbd.REG_EXIT_FACTORY) == {leave}
    assert enter == bytes.fromhex("dd5a00025678ff3077")
    assert leave == bytes.fromhex("dd5a01020000fffd77")
    captured = mos_capture_writes()
    assert captured == [
        bytes.fromhex("dd5ae1020001ff1c77"),  # "Charging off (+ discharging on)"
        bytes.fromhex("dd5a01020000fffd77"),  # leave factory mode
        bytes.fromhex("dd5ae1020000ff1d77"),  # "Charging on (+ discharging on)"
        bytes.fromhex("dd5ae1020002ff1b77"),  # "Discharging off (+ charging on)"
    ]
    assert jbd.mosfet_control(charge=False, discharge=True)[1:] == captured[:2]
    assert jbd.mosfet_control(charge=True, discharge=True)[1] == captured[2]
    assert jbd.mosfet_control(charge=True, discharge=False)[1] == captured[3]


def test_sequence_for_every_combination() -> None:
    """Bit 0 set turns charging off, bit 1 discharging; the doc example is discharge off."""
    expected = {
        (True, True): "dd5ae1020000ff1d77",
        (False, True): "dd5ae1020001ff1c77",
        (True, False): "dd5ae1020002ff1b77",
        (False, False): "dd5ae1020003ff1a77",
    }
    for (charge, discharge), e1 in expected.items():
        sequence = jbd.mosfet_control(charge, discharge)
        assert [frame.hex() for frame in sequence] == [
            "dd5a00025678ff3077",
            e1,
            "dd5a01020000fffd77",
        ]
        assert all(jbd.checksum_ok(frame) for frame in sequence)
    (doc,) = [e for e in entries() if e["note"].startswith("doc example MOS control write")]
    assert bytes.fromhex(doc["frames"][0]["hex"]) == jbd.write_request(0xE1, b"\x00\x02")


def test_every_real_acknowledgement_parses_ok() -> None:
    """Every answer the BMS gave to a write in the btsnoop logs is an accepted, empty write."""
    answered = [
        (x.request, x.response)
        for name in TRANSCRIPTS
        for x in transcript(name).exchanges
        if x.request[:2] == b"\xdd\x5a" and x.answered
    ]
    assert len(answered) == 12
    for request, response in answered:
        result = jbd.parse_write_response(response)
        assert result == jbd.WriteResult(request[2], 0x00, b"")
        assert result.ok
    registers = sorted({request[2] for request, _ in answered})
    assert registers == [0x00, 0x01, 0x06, 0x09]


def test_mos_capture_acknowledgement() -> None:
    """``DD E1 00 00 00 00 77`` from the UART MOS capture: 0xE1 accepted (checksum 0x0000)."""
    (group,) = [e for e in entries() if e["source"].endswith(MOS_CAPTURE)]
    acks = [bytes.fromhex(f["hex"]) for f in group["frames"] if f["kind"] == "response"]
    assert [jbd.parse_write_response(a) for a in acks] == [
        jbd.WriteResult(jbd.REG_MOSFET_CONTROL, 0, b""),
        jbd.WriteResult(jbd.REG_EXIT_FACTORY, 0, b""),
    ]


def test_refused_writes_are_results_not_exceptions() -> None:
    """A non-zero status is reported as ``ok`` False: the real ``DD 24 81 00 FF 7F 77`` of the
    FF AA capture, and ``DD E3 80 00 FF 80 77`` that jbdtool (sshoecraft) logged for a refused
    0xE3 write."""
    (refused,) = [
        frame.frame
        for frame in transcript(TRANSCRIPTS[1]).frames
        if frame.frame[2] != jbd.STATUS_OK
    ]
    assert jbd.parse_write_response(refused) == jbd.WriteResult(0x24, 0x81, b"")
    result = jbd.parse_write_response(bytes.fromhex("dde38000ff8077"))
    assert result == jbd.WriteResult(0xE3, 0x80, b"")
    assert not result.ok


def test_assembler_delivers_acknowledgements() -> None:
    """The 7-byte acks come out of the frame assembler whole, split or not."""
    ack = bytes.fromhex("dde10000000077")
    assembler = jbd.FrameAssembler()
    assert assembler.feed(ack[:3]) == []
    (frame,) = assembler.feed(ack[3:])
    assert jbd.parse_write_response(frame).ok


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("dde10000000177", jbd.ChecksumError),
        ("dd5ae1020002ff1b77", jbd.FrameError),  # a request, not an answer
        ("dde100000000", jbd.FrameError),  # no tail
        ("dde10001000077", jbd.FrameError),  # length byte says 1 data byte
        ("ee010000000077", jbd.FrameError),  # wrong start byte
        ("", jbd.FrameError),
    ],
)
def test_malformed_acknowledgements_raise(frame: str, error: type[jbd.JBDError]) -> None:
    """Malformed frames raise the precise JBDError."""
    with pytest.raises(error):
        jbd.parse_write_response(bytes.fromhex(frame))


@given(st.binary(max_size=40))
def test_parse_write_response_raises_only_jbd_errors(data: bytes) -> None:
    """Any bytes: a WriteResult or a JBDError, nothing else."""
    try:
        result = jbd.parse_write_response(data)
    except jbd.JBDError:
        return
    assert result.register == data[1]
    assert result.status == data[2]
    assert result.data == data[4:-3]

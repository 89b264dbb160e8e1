"""The pure VE.Direct HEX session (protocol/vedirect_hex_session.py), issue 11 §1-2: one request in
flight, timeouts and retries, the 0xAAAA framing error, async frames between a request and its
answer, and a round trip of every register against the fake device's answers (no I/O)."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.victron_venus.protocol import vedirect_hex as hexp
from custom_components.victron_venus.protocol.vedirect_hex_session import (
    FAIL_FRAMING,
    FAIL_TIMEOUT,
    FAIL_UNKNOWN_COMMAND,
    MAX_QUEUE,
    HexAnswered,
    HexFailed,
    HexSession,
    HexValue,
    device_family,
)
from tests.fakes.vedirect_device import HexResponder
from tests.protocol.test_vedirect_hex import all_capture_lines
from tests.shared import fixture_path

FRAMING = hexp.decode_line(b":4AAAAFD\n")


def _answer(register: int, value: bytes, command: int = hexp.RSP_GET, flags: int = 0) -> bytes:
    return hexp.encode_frame(command, register.to_bytes(2, "little") + bytes((flags,)) + value)


def test_one_request_in_flight_and_its_answer() -> None:
    """Two Gets: the second goes out only after the first's answer; the answer and its value."""
    session = HexSession(timeout=1.0)
    first = session.request(hexp.get(0xEDF0))
    session.request(hexp.get(0x0200))
    assert session.next_line(0.0) == b":7F0ED0071\n"
    assert session.next_line(0.1) is None  # one in flight
    assert session.deadline() == 1.0
    events = session.receive(hexp.decode_line(_answer(0xEDF0, b"\x96\x00")), 0.2)
    assert events == [
        HexValue(0xEDF0, b"\x96\x00", False),
        HexAnswered(first, hexp.decode_line(b":7F0ED009600DB\n")),  # type: ignore[arg-type]
    ]
    assert session.next_line(0.3) == hexp.get(0x0200)
    assert (session.sent, session.answered) == (2, 1)


def test_async_frame_between_request_and_answer() -> None:
    """An async frame of the same register is a value, not the answer."""
    session = HexSession()
    request = session.request(hexp.get(0xED8D))
    session.next_line(0.0)
    events = session.receive(hexp.decode_line(b":A8DED00800A47\n"), 0.1)
    assert events == [HexValue(0xED8D, bytes.fromhex("800A"), True)]
    assert session.in_flight is request
    assert session.async_frames == 1


def test_timeout_retries_then_fails() -> None:
    """No answer: the same line twice more at each deadline, then FAIL_TIMEOUT."""
    session = HexSession(timeout=1.0, retries=2)
    request = session.request(hexp.ping())
    assert session.next_line(0.0) == b":154\n"
    assert session.tick(0.5) == []
    assert session.tick(1.0) == []
    assert session.next_line(1.0) == b":154\n"
    assert session.tick(2.0) == []
    assert session.next_line(2.0) == b":154\n"
    assert session.tick(3.0) == [HexFailed(request, FAIL_TIMEOUT)]
    assert (session.timeouts, session.failed, session.busy) == (3, 1, False)
    assert request.attempts == 3


def test_framing_error_sends_again_then_fails() -> None:
    """0xAAAA: the line again; after every attempt got it, FAIL_FRAMING."""
    session = HexSession(retries=1)
    request = session.request(hexp.get(0x0100))
    session.next_line(0.0)
    assert session.receive(FRAMING, 0.1) == []
    assert session.next_line(0.2) == hexp.get(0x0100)
    assert session.receive(FRAMING, 0.3) == [HexFailed(request, FAIL_FRAMING)]
    assert (session.framing_errors, request.framing_errors) == (2, 2)
    # a framing error with nothing in flight only counts
    assert session.receive(FRAMING, 0.4) == []
    assert session.framing_errors == 3


def test_unknown_command_refusal_and_late_answer() -> None:
    """Answer 3 fails the request; flags != 0 answer it without a value; a late answer after a
    retry is unmatched but its value counts."""
    session = HexSession()
    request = session.request(hexp.encode_frame(hexp.CMD_APP_VERSION))
    session.next_line(0.0)
    assert session.receive(hexp.decode_line(hexp.encode_frame(hexp.RSP_UNKNOWN, b"\x03")), 0.1) == [
        HexFailed(request, FAIL_UNKNOWN_COMMAND)
    ]
    refused = session.request(hexp.set_value(0xEDF0, 99.0))
    session.next_line(0.2)
    answer = hexp.decode_line(_answer(0xEDF0, b"\xde\x03", hexp.RSP_SET, hexp.FLAG_PARAMETER_ERROR))
    assert session.receive(answer, 0.3) == [HexAnswered(refused, answer)]  # type: ignore[arg-type]
    late = hexp.decode_line(_answer(0x0200, b"\x04"))
    assert session.receive(late, 0.4) == [HexValue(0x0200, b"\x04", False)]
    assert session.unmatched == 1


def test_bad_lines_and_limits() -> None:
    """A bad line is ignored; a line that is not HEX cannot be queued; the queue is bounded;
    cancel_all hands back what waited."""
    session = HexSession()
    assert session.receive(None, 0.0) == []
    with pytest.raises(ValueError, match="not a valid HEX line"):
        session.request(b":7F0ED0072\n")
    requests = [session.request(hexp.ping()) for _ in range(MAX_QUEUE)]
    with pytest.raises(OverflowError):
        session.request(hexp.ping())
    session.next_line(0.0)
    assert session.cancel_all() == requests
    assert not session.busy


def test_capture_lines_through_the_session() -> None:
    """Every HEX line of the shared captures (23, all async) is a value, none an answer."""
    session = HexSession()
    lines = all_capture_lines()
    events = [e for line in lines for e in session.receive(hexp.decode_line(line), 0.0)]
    assert len(lines) == 23
    assert session.async_frames == 23
    assert all(isinstance(e, HexValue) and e.is_async for e in events)
    assert len(events) == 23


@pytest.mark.parametrize(
    ("capture", "family"),
    [
        ("karioja_bluesolar_1.23.dump", "mppt"),
        ("karioja_smartsolar_1.39.dump", "mppt"),
        ("rexlinz_phoenix_12_1200_0xA2F1_garbage_then_block.bin", "inverter"),
        ("karioja_bvm702.dump", "bmv"),
        ("dbr_vedirect-rs_bmv712_partial_stream.bin", "bmv"),
    ],
)
def test_fake_device_answers_every_get(capture: str, family: str) -> None:
    """The fake answers a Get of every register in the table: the value it holds (decoding in
    the register's layout) or flags 0x01 (unknown id); a writable register's Set round trips."""
    responder = HexResponder(fixture_path("vedirect", capture).read_bytes())
    assert responder.family == family
    for register in hexp.REGISTERS:
        session = HexSession()
        request = session.request(hexp.get(register))
        line = session.next_line(0.0)
        assert line is not None
        answer = responder.answer(line)
        assert answer is not None
        events = session.receive(hexp.decode_line(answer), 0.0)
        answered = [e for e in events if isinstance(e, HexAnswered)]
        assert len(answered) == 1
        assert answered[0].request is request
        message = answered[0].message
        if register in responder.registers:
            assert message.flags == 0
            assert message.data == responder.registers[register]
            hexp.decode_value(register, message.data)  # in the register's layout
        else:
            assert message.flags == hexp.FLAG_UNKNOWN_ID


def test_fake_mppt_set_round_trip_and_limits() -> None:
    """BlueSolar 75/15: load output, mode and current Set answer the value; above 0xEDDF (15 A)
    is refused with flags 0x04; the TEXT field follows."""
    responder = HexResponder(fixture_path("vedirect", "karioja_bluesolar_1.23.dump").read_bytes())
    for register, value in ((0xEDAB, 0), (0x0200, 4), (0xEDF0, 12.5)):
        line = hexp.set_value(register, value)
        answer = hexp.decode_line(responder.answer(line) or b"")
        assert answer is not None
        assert (answer.command, answer.flags) == (hexp.RSP_SET, 0)
        assert hexp.decode_value(register, answer.data) == value
    assert responder.text_overrides == {"LOAD": "OFF"}
    refused = hexp.decode_line(responder.answer(hexp.set_value(0xEDF0, 15.1)) or b"")
    assert refused is not None
    assert refused.flags == hexp.FLAG_PARAMETER_ERROR


def test_device_family_rules() -> None:
    """Families from TEXT labels and the model name."""
    assert device_family({"PID", "V", "PPV"}, None) == "mppt"
    assert device_family({"PID", "AC_OUT_V"}, None) == "inverter"
    assert device_family({"PID", "SOC"}, "BMV-712 Smart") == "bmv"
    assert device_family({"PID", "V", "I", "CS"}, "Blue Smart IP22 Charger 24|8") == "charger"
    assert device_family({"PID", "V", "I", "CS"}, "Orion XS 12V/12V-50A") is None


@given(st.lists(st.binary(max_size=120), max_size=20))
def test_receive_never_raises(lines: list[bytes]) -> None:
    """Any lines (decoded or not) never raise and never answer a request with a bad line."""
    session = HexSession()
    session.request(hexp.get(0xEDF0))
    session.next_line(0.0)
    for line in lines:
        for event in session.receive(hexp.decode_line(line), 0.0):
            if isinstance(event, HexAnswered):
                assert hexp.decode_line(line) == event.message

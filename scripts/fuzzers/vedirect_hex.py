"""Fuzz the VE.Direct HEX codec and session (protocol/vedirect_hex.py, vedirect_hex_session.py).

Checks:

* ``decode``: arbitrary bytes, near-miss lines (colons, hex digits, CR LF), lines built here with
  a right or a wrong check byte, real capture lines with changed digits, and objects that are not
  bytes. ``decode_line`` never raises and returns a message exactly when the line is a whole
  ``:`` + odd number of hex digits whose bytes sum to 0x55 (protocols.md §1.4, computed here,
  independently of the codec), no longer than MAX_HEX_FRAME and, for Get/Set/Async, with register
  and flags; the message's command, register, flags and data are those of a decode written here.
  The value of every message goes through ``decode_value`` (table registers: only
  ``HexValueError``), ``decode_history_day`` / ``decode_history_total`` (only ``HexValueError``,
  and only for too short data), ``decode_product_id`` and ``decode_firmware`` (never raise).
* ``roundtrip``: every register of the table (the run fails unless all were drawn) with random
  raw values in range (not the "not available" value, an enum's codes only): ``decode_value`` then
  ``encode_value`` gives the same bytes; a random number in the register's SI range encodes to a
  raw value within half a step, or is refused with ``HexValueError`` (never another error);
  ``get`` / ``set`` / ``set_value`` lines decode back to the same command, register, flags 0 and
  value. Values of the wrong type, NaN, infinities and huge numbers raise ``HexValueError`` only.
* ``session``: random scripts of requests (Get, Set, Ping, product id, restart, full queues),
  answers (right, wrong register, refused with flags, late, unknown command), async frames, junk,
  framing errors (0xAAAA) and clock steps against :class:`HexSession`, through ``request``,
  ``next_line``, ``receive`` and ``tick``. A model kept here checks that a line handed out is
  the in-flight request's first attempt or a retry after its timeout/framing error, never a second
  request's while one waits; each request ends exactly once (answered, failed after
  ``retries + 1`` attempts, or unknown command), in queue order; the counters add up; only
  ``ValueError`` / ``OverflowError`` escape ``request``. After the script the clock runs on with
  no answers: every request must end within ``(retries + 1) x timeout`` per request.
* ``noise``: ``--noise-mb`` MB of HEX-alphabet noise cut into lines (random, framing errors, async
  floods, answers nobody waits for, runaway lines) through ``VEDirectParser.hex_lines``,
  ``decode_line`` (which agrees with the §1.4 decode written here on every line the TEXT parser
  kept) and a session with a request every so often: the session's queue, its state (everything
  reachable from it) and the process RSS stay bounded.
* ``linear``: pathological line streams at 1 MB and 8 MB (longest valid lines, framing error and
  async storms, wrong check bytes, lines just over MAX_HEX_FRAME, colon storms) through
  ``decode_line`` + ``HexSession.receive``, and raw bytes through the TEXT parser to the session.
"""

from __future__ import annotations

import math
import random

from hypothesis import example, given, strategies as st

from custom_components.victron_venus.protocol import vedirect_hex as hexp
from custom_components.victron_venus.protocol.vedirect import MAX_HEX_FRAME, VEDirectParser
from custom_components.victron_venus.protocol.vedirect_hex import (
    HISTORY_DAY_FIRST,
    HISTORY_DAY_LAST,
    HISTORY_DAY_LEN,
    HISTORY_TOTAL,
    HISTORY_TOTAL_LEN,
    REGISTERS,
    HexMessage,
    HexValueError,
    Kind,
    decode_line,
)
from custom_components.victron_venus.protocol.vedirect_hex_session import (
    MAX_QUEUE,
    HexAnswered,
    HexFailed,
    HexRequest,
    HexSession,
    HexValue,
)
from scripts.fuzzers._common import (
    MB,
    Check,
    Counter,
    Options,
    cut,
    linear_check,
    retained,
    rss_bytes,
    run_property,
)
from tests.protocol.test_vedirect_hex import all_capture_lines

RSS_GROWTH_LIMIT = 32 * 2**20
HEX = b"0123456789ABCDEF"
CAPTURE_LINES = all_capture_lines()
ADDRESSED = (0x7, 0x8, 0xA)


# --- the fuzzer's own frame rules (protocols.md §1.4; [Phoenix] "VE.Direct commands") -------------


def frame(command: int, data: bytes, delta: int = 0, lower: bool = False) -> bytes:
    """A line ``:`` nibble data check ``\\n``, the check making the byte sum 0x55 (+ ``delta``)."""
    check = (0x55 - command - sum(data) + delta) & 0xFF
    text = b":%X%s%02X\n" % (command, data.hex().upper().encode(), check)
    return text.lower() if lower else text


def reference_decode(line: bytes) -> tuple[int, int | None, int | None, bytes] | None:
    """§1.4 restated: (command, register, flags, data) of a whole verified line, else None."""
    if len(line) > MAX_HEX_FRAME:
        return None
    body = line.removesuffix(b"\n").removesuffix(b"\r")
    if not body.startswith(b":"):
        return None
    digits = body[1:]
    if len(digits) < 3 or len(digits) % 2 == 0:
        return None
    if any(c not in b"0123456789ABCDEFabcdef" for c in digits):
        return None
    command = int(chr(digits[0]), 16)
    values = [int(digits[i : i + 2], 16) for i in range(1, len(digits), 2)]
    if (command + sum(values)) % 256 != 0x55:
        return None
    data = bytes(values[:-1])
    if command in ADDRESSED:
        if len(data) < 3:
            return None
        return command, data[0] + 256 * data[1], data[2], data[3:]
    return command, None, None, data


# --- decode ---------------------------------------------------------------------------------------


@st.composite
def lines(draw: st.DrawFn) -> object:
    """Anything a HEX line may be: built, captured, mutated, near misses, noise, non-bytes."""
    kind = draw(
        st.sampled_from(
            ["built", "built", "capture", "mutated", "near", "binary", "long", "object", "history"]
        )
    )
    if kind == "object":
        return draw(
            st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers()))
        )
    if kind == "binary":
        return draw(st.binary(max_size=300))
    if kind == "near":
        return draw(st.text(alphabet=":0123456789ABCDEFabcdef\r\n", max_size=80)).encode()
    if kind == "long":
        size = draw(st.integers(MAX_HEX_FRAME - 10, MAX_HEX_FRAME + 10))
        return frame(0xA, draw(st.binary(min_size=size // 2, max_size=size // 2)))[: size + 10]
    if kind in ("capture", "mutated"):
        line = bytearray(draw(st.sampled_from(CAPTURE_LINES)))
        if kind == "mutated":
            for _ in range(draw(st.integers(1, 3))):
                at = draw(st.integers(0, len(line) - 1))
                line[at] = draw(st.sampled_from([*HEX, *b"abcdef:\r\n\x00 ", 0xFF]))
        return bytes(line)
    command = draw(st.sampled_from([*range(16), 0x7, 0x8, 0xA, 0xA]))
    if kind == "history":
        register = draw(st.integers(HISTORY_TOTAL, HISTORY_DAY_LAST + 1))
        data = register.to_bytes(2, "little") + b"\x00" + draw(st.binary(min_size=15, max_size=40))
    else:
        data = draw(st.binary(max_size=40))
    delta = draw(st.sampled_from([0, 0, 0, 1, 0x55, 255]))
    line = frame(command, data, delta, lower=draw(st.integers(0, 9)) == 0)
    ending = draw(st.sampled_from([b"\n", b"\n", b"\r\n", b"", b"\n\n", b" \n"]))
    return line[:-1] + ending


def _only(errors: tuple[type[BaseException], ...], func: object, *args: object) -> object:
    """Call ``func``; return its result, or the error if it is one of ``errors``."""
    try:
        return func(*args)  # type: ignore[operator]
    except errors as err:
        return err


def _check_decode() -> Check:
    counter = Counter()

    @given(line=lines())
    @example(line=b":4AAAAFD\n")
    @example(line=b":4aaaafd")
    @example(line=b":A\n")
    @example(line=b"::154\n")
    @example(line=bytearray(b":154\r\n"))
    @example(line=memoryview(b":7F0ED0071\n"))
    def decode(line: object) -> None:
        message = decode_line(line)
        if not isinstance(line, bytes | bytearray | memoryview):
            assert message is None, (line, message)
            counter.tick()
            return
        expected = reference_decode(bytes(line))
        got = None if message is None else (message.command, message.register, message.flags)
        assert got == (None if expected is None else expected[:3]), (line, expected, message)
        if message is None or expected is None:
            counter.tick()
            return
        assert isinstance(message, HexMessage)
        assert message.data == expected[3], (line, expected, message)
        data = message.data
        if message.register is not None and message.register in REGISTERS:
            _only((HexValueError,), hexp.decode_value, message.register, data)
        day = _only((HexValueError,), hexp.decode_history_day, data)
        assert isinstance(day, HexValueError) == (len(data) < HISTORY_DAY_LEN), (data, day)
        if not isinstance(day, HexValueError):
            assert day.error_codes == tuple(data[14:18])
            assert day.day_sequence == data[32] + 256 * data[33]
            raw_yield = int.from_bytes(data[1:5], "little")
            assert day.yield_kwh == (None if raw_yield == 0xFFFFFFFF else round(raw_yield / 100, 2))
        total = _only((HexValueError,), hexp.decode_history_total, data)
        assert isinstance(total, HexValueError) == (len(data) < HISTORY_TOTAL_LEN), (data, total)
        pid = hexp.decode_product_id(data)
        assert (pid is None) == (len(data) not in (2, 3, 4)), (data, pid)
        firmware = hexp.decode_firmware(data)
        assert firmware is None or isinstance(firmware, str)
        assert isinstance(hexp.flag_names(message.flags or 0), list)
        message.ok, message.is_async, message.is_framing_error  # noqa: B018
        counter.tick()

    return Check("decode", lambda o: run_property(decode, counter, o, 11))


# --- get/set round trip ---------------------------------------------------------------------------

NUMERIC = (Kind.UN8, Kind.UN16, Kind.UN32, Kind.SN16, Kind.SN32)
ALL_REGISTERS = sorted(REGISTERS)


def _raw_range(entry: hexp.Register) -> tuple[int, int]:
    bits = 8 * entry.sizes[0]
    if entry.kind in (Kind.SN16, Kind.SN32):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _raw_allowed(entry: hexp.Register, raw: int) -> bool:
    if raw == entry.not_available:
        return False
    if entry.options is not None and raw not in entry.options:
        return False
    value = raw * entry.scale + entry.offset
    if entry.minimum is not None and value < entry.minimum:
        return False
    return entry.maximum is None or value <= entry.maximum


BAD_VALUES = st.one_of(
    st.sampled_from(
        [math.nan, math.inf, -math.inf, 10**400, -(10**5000), 1e308, -1e308, True, "1", b"1", [1]]
    ),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
)


def _check_roundtrip() -> Check:
    counter = Counter()
    drawn: set[int] = set()

    @given(register=st.sampled_from(ALL_REGISTERS), data=st.data())
    def roundtrip(register: int, data: st.DataObject) -> None:
        entry = REGISTERS[register]
        drawn.add(register)
        get_line = hexp.get(register)
        assert decode_line(get_line) == HexMessage(0x7, register, 0, b"")
        assert get_line.endswith(b"\n") and get_line == get_line.upper()
        kind = entry.kind
        if kind in NUMERIC:
            low, high = _raw_range(entry)
            raw = data.draw(
                st.integers(low, high).filter(lambda r: _raw_allowed(entry, r))
                if entry.options is None
                else st.sampled_from(sorted(entry.options))
            )
            raw_bytes = raw.to_bytes(entry.sizes[0], "little", signed=kind in NUMERIC[3:])
            value = hexp.decode_value(register, raw_bytes)
            assert value is not None
            assert hexp.encode_value(register, value) == raw_bytes, (hex(register), raw, value)
            # any number in the SI range: within half a step, or a clear refusal
            lo, hi = sorted((low * entry.scale + entry.offset, high * entry.scale + entry.offset))
            number = data.draw(st.floats(lo, hi, allow_nan=False))
            encoded = _only((HexValueError,), hexp.encode_value, register, number)
            if isinstance(encoded, bytes):
                back = hexp.decode_value(register, encoded)
                assert isinstance(back, int | float), (number, encoded, back)
                assert abs(back - number) <= entry.scale / 2 + 1e-6 * max(1, abs(number)), (
                    hex(register),
                    number,
                    back,
                )
            else:
                nearest = round((number - entry.offset) / entry.scale)
                assert not _raw_allowed(entry, nearest) or not low <= nearest <= high, (
                    hex(register),
                    number,
                    encoded,
                )
        elif kind is Kind.STRING:
            text = data.draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E)))
            raw_bytes = hexp.encode_value(register, text)
            assert hexp.decode_value(register, raw_bytes + b"\x00" * 3) == text
        elif kind is Kind.BYTES:
            raw_bytes = data.draw(st.binary(max_size=hexp.MAX_VALUE_BYTES))
            assert hexp.encode_value(register, raw_bytes) == raw_bytes
            assert hexp.decode_value(register, raw_bytes) == raw_bytes
        else:
            raw_bytes = hexp.encode_value(register, None)
            assert raw_bytes == b""
            assert hexp.decode_value(register, b"") is None
        line = hexp.set(register, raw_bytes)
        assert decode_line(line) == HexMessage(0x8, register, 0, raw_bytes), (line, raw_bytes)
        if entry.writable and kind is not Kind.BYTES:
            value = hexp.decode_value(register, raw_bytes) if kind is not Kind.COMMAND else None
            if kind is Kind.STRING:
                value = text
            assert hexp.set_value(register, value) == line, (hex(register), value)
        elif not entry.writable:
            assert isinstance(_only((HexValueError,), hexp.set_value, register, 0), HexValueError)
        # wrong types, NaN, infinities, huge numbers: HexValueError, nothing else
        bad = data.draw(BAD_VALUES)
        result = _only((HexValueError,), hexp.encode_value, register, bad)
        if isinstance(result, bytes):
            assert (
                (kind in NUMERIC and isinstance(bad, int | float))
                or (kind is Kind.STRING and isinstance(bad, str))
                or (kind is Kind.BYTES and isinstance(bad, bytes))
            ), (hex(register), bad, result)
        counter.tick()

    def run(options: Options) -> tuple[int, str]:
        drawn.clear()
        examples, _ = run_property(roundtrip, counter, options, 12)
        missing = sorted(set(ALL_REGISTERS) - drawn)
        assert not missing, f"registers never drawn: {[hex(r) for r in missing]}"
        return examples, f"{len(drawn)} registers"

    return Check("roundtrip", run)


# --- session --------------------------------------------------------------------------------------

REQUEST_LINES = [
    hexp.get(0xEDF0),
    hexp.get(0x0100),
    hexp.get(HISTORY_DAY_FIRST),
    hexp.set(0xEDAB, b"\x04"),
    hexp.set(0x0200, b"\x01"),
    hexp.ping(),
    frame(0x4, b""),  # product id
    frame(0x3, b""),  # app version
    frame(0x6, b""),  # restart: never answered
]


@st.composite
def scripts(draw: st.DrawFn) -> list[tuple[str, object]]:
    """A list of (operation, argument) steps against one session."""
    registers = st.sampled_from([0xEDF0, 0x0100, 0xEDAB, 0x0200, HISTORY_DAY_FIRST, 0x1234])
    step = st.one_of(
        st.tuples(st.just("request"), st.sampled_from(REQUEST_LINES)),
        st.tuples(st.just("request"), st.binary(max_size=12)),
        st.tuples(st.just("burst"), st.integers(1, MAX_QUEUE + 3)),
        st.tuples(st.just("send"), st.none()),
        st.tuples(st.just("answer"), st.sampled_from([0, 0, 0, 1, 2, 4])),  # the right one
        st.tuples(st.just("reply"), st.tuples(st.sampled_from([1, 3, 4, 5, 7, 8]), registers)),
        st.tuples(st.just("async"), registers),
        st.tuples(st.just("framing"), st.none()),
        st.tuples(st.just("junk"), st.binary(max_size=30)),
        st.tuples(st.just("time"), st.sampled_from([0.0, 0.01, 0.5, 1.0, 2.99, 3.0, 3.01, 10.0])),
        st.tuples(st.just("time"), st.floats(0, 100, allow_nan=False)),
    )
    return draw(st.lists(step, max_size=80))


class SessionModel:
    """The fuzzer's bookkeeping: what was queued, what ended, what is on the wire."""

    def __init__(self, session: HexSession) -> None:
        self.session = session
        self.queued: list[HexRequest] = []  # in request order
        self.ended: list[HexRequest] = []
        self.outcome: dict[int, object] = {}
        self.waiting: HexRequest | None = None  # sent, answer pending (no timeout/framing yet)
        self.values = 0
        self.now = 0.0

    def request(self, line: bytes) -> None:
        before = len(self.session.queue)
        try:
            request = self.session.request(line)
        except ValueError:
            assert decode_line(line) is None, line
            return
        except OverflowError:
            assert before >= MAX_QUEUE
            return
        assert before < MAX_QUEUE
        self.queued.append(request)

    def send(self) -> None:
        in_flight = self.session.in_flight
        line = self.session.next_line(self.now)
        if line is None:
            assert self.waiting is not None or not self.session.busy
            return
        request = self.session.in_flight
        assert request is not None and line == request.line
        # never a second request on the wire while one waits for its answer
        assert self.waiting is None, (self.waiting, request)
        if in_flight is None:
            assert request.attempts == 1, request
        else:
            assert request is in_flight and request.attempts > 1
        assert request.attempts <= self.session.retries + 1, request
        self.waiting = request

    def events(self, events: list[object], message: HexMessage | None) -> None:
        for event in events:
            if isinstance(event, HexValue):
                assert message is not None and message.register == event.register
                assert not message.flags and message.data == event.data
                assert event.is_async == (message.command == 0xA)
                self.values += 1
                continue
            assert isinstance(event, HexAnswered | HexFailed), event
            request = event.request
            assert id(request) not in self.outcome, ("ended twice", request)
            # requests end in queue order
            assert request is self.queued[len(self.ended)], (request, self.queued)
            if isinstance(event, HexFailed):
                if event.reason in ("timeout", "framing_error"):
                    assert request.attempts == self.session.retries + 1, event
                else:
                    assert event.reason == "unknown_command" and message is not None
                    assert message.command == 0x3
            else:
                assert message is event.message and request.answers(message)
            self.outcome[id(request)] = event
            self.ended.append(request)
            if self.waiting is request:
                self.waiting = None
        if self.session.in_flight is None or self.session.in_flight.sent_at is None:
            self.waiting = None

    def receive(self, message: HexMessage | None) -> None:
        s = self.session
        counts = (s.async_frames, s.framing_errors)
        self.events(s.receive(message, self.now), message)
        is_async = message is not None and message.command == 0xA
        framing = message is not None and message.is_framing_error
        assert (s.async_frames, s.framing_errors) == (counts[0] + is_async, counts[1] + framing)

    def tick(self) -> None:
        deadline, timeouts = self.session.deadline(), self.session.timeouts
        self.events(self.session.tick(self.now), None)
        timed_out = deadline is not None and self.now >= deadline
        assert self.session.timeouts == timeouts + timed_out, (deadline, self.now)
        assert self.session.deadline() is None or not timed_out

    def check_counters(self) -> None:
        s = self.session
        answered = sum(isinstance(e, HexAnswered) for e in self.outcome.values())
        assert s.answered == answered and s.failed == len(self.ended) - answered, vars(s)
        attempts = sum(r.attempts for r in self.queued)
        assert s.sent == attempts, (s.sent, attempts)
        assert len(s.queue) <= MAX_QUEUE
        waiting = [r for r in self.queued if id(r) not in self.outcome]
        assert [r for r in [s.in_flight, *s.queue] if r is not None] == waiting


def _answer(request: HexRequest, flags: int) -> HexMessage | None:
    """The device's answer to ``request`` (built here), with ``flags``."""
    if request.command in (0x7, 0x8) and request.register is not None:
        value = b"" if flags else b"\x01\x00"
        line = frame(
            request.command, request.register.to_bytes(2, "little") + bytes((flags,)) + value
        )
    elif request.command == 0x1:
        line = frame(0x5, b"\x16\x43")
    else:
        line = frame(0x1, b"\x00\x60\xa0")
    return decode_line(line)


def _check_session() -> Check:
    counter = Counter()

    @given(script=scripts(), retries=st.integers(0, 3), timeout=st.sampled_from([0.5, 3.0, 7.0]))
    def session_script(script: list[tuple[str, object]], retries: int, timeout: float) -> None:
        session = HexSession(timeout=timeout, retries=retries)
        model = SessionModel(session)
        for op, arg in script:
            if op == "request":
                model.request(arg)  # type: ignore[arg-type]
            elif op == "burst":
                for _ in range(arg):  # type: ignore[call-overload]
                    model.request(REQUEST_LINES[0])
            elif op == "send":
                model.send()
            elif op == "answer":
                if session.in_flight is not None:
                    model.receive(_answer(session.in_flight, arg))  # type: ignore[arg-type]
            elif op == "reply":
                command, register = arg  # type: ignore[misc]
                if command in (0x7, 0x8):
                    data = register.to_bytes(2, "little") + b"\x00\x05\x00"
                else:
                    data = b"\x00\x00"
                model.receive(decode_line(frame(command, data)))
            elif op == "async":
                data = arg.to_bytes(2, "little") + b"\x00\x07\x00"  # type: ignore[attr-defined]
                model.receive(decode_line(frame(0xA, data)))
            elif op == "framing":
                model.receive(decode_line(b":4AAAAFD\n"))
            elif op == "junk":
                model.receive(decode_line(arg))
            else:
                model.now += arg  # type: ignore[operator]
                model.tick()
            model.check_counters()
        # the clock runs on, nobody answers: every request ends, within its attempts
        limit = (len(model.queued) + 1) * (retries + 2) * 2
        for _ in range(limit):
            if not session.busy:
                break
            model.send()
            model.now += timeout
            model.tick()
            model.check_counters()
        assert not session.busy, ("requests never end", session)
        assert len(model.ended) == len(model.queued)
        assert session.next_line(model.now) is None and session.deadline() is None
        counter.tick()

    return Check("session", lambda o: run_property(session_script, counter, o, 13))


# --- bounded state on noise -----------------------------------------------------------------------


def noise_lines(rng: random.Random) -> list[bytes]:
    """A pool of HEX stream pieces: junk, framing errors, async floods, stray answers, runaways."""
    pool = [bytes(rng.choices(b":0123456789ABCDEF\n", k=rng.randint(1, 600))) for _ in range(64)]
    pool += [rng.randbytes(rng.randint(1, 600)) for _ in range(16)]
    pool += [b":4AAAAFD\n" * 20, b":" + b"A" * (MAX_HEX_FRAME + 5) + b"\n", b":" * 300]
    for _ in range(64):
        command = rng.choice([0x1, 0x3, 0x4, 0x5, 0x7, 0x8, 0xA, 0xA])
        data = rng.randbytes(rng.randint(0, 40))
        pool.append(frame(command, data, rng.choice([0, 0, 1])) * rng.randint(1, 10))
    pool += CAPTURE_LINES
    return pool


def _check_noise() -> Check:
    def noise(options: Options) -> tuple[int, str]:
        rng = random.Random(options.seed + 14)
        pool = noise_lines(rng)
        parser = VEDirectParser()
        session = HexSession()
        now = 0.0
        total = lines_seen = refused = 0
        peak_held = peak_queue = 0
        rss0 = rss_peak = rss_bytes()
        target = options.noise_mb * MB
        next_deep = 0
        while total < target:
            data = b"".join(rng.choices(pool, k=rng.randint(1, 40)))
            for chunk in cut(data, [rng.choice([1, 7, 64, 512, 4096])]):
                parser.feed(chunk)
                while parser.hex_lines:
                    lines_seen += 1
                    line = parser.hex_lines.popleft()
                    message = decode_line(line)
                    # a line the TEXT parser verified decodes unless §1.4 says otherwise
                    assert (message is None) == (reference_decode(line) is None), line
                    refused += message is None
                    session.receive(message, now)
            now += rng.random()
            session.tick(now)
            if rng.random() < 0.3 and len(session.queue) < MAX_QUEUE:
                session.request(rng.choice(REQUEST_LINES))
            session.next_line(now)
            peak_queue = max(peak_queue, len(session.queue))
            assert len(session.queue) <= MAX_QUEUE
            total += len(data)
            if total >= next_deep:
                next_deep += 256 * 1024
                held, entries = retained(session)
                peak_held = max(peak_held, held + entries)
                assert held < 64 * 1024 and entries < 4 * MAX_QUEUE, (held, entries)
                rss_peak = max(rss_peak, rss_bytes())
        growth = rss_peak - rss0
        assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.1f} MiB"
        note = (
            f"{total / MB:.0f} MB, {lines_seen} HEX lines ({refused} refused),"
            f" {session.async_frames} async,"
            f" {session.framing_errors} framing errors, {session.unmatched} unmatched,"
            f" {session.answered} answered, {session.failed} failed; peak queue {peak_queue},"
            f" session holds <= {peak_held} B+entries; RSS +{growth / 2**20:.1f} MiB"
        )
        return total // MB, note

    return Check("noise", noise)


# --- linear time ----------------------------------------------------------------------------------


def _pathological() -> list[tuple[str, bytes]]:
    longest = frame(0xA, b"\xf0\xed\x00" + b"\xab" * ((MAX_HEX_FRAME - 11) // 2))
    assert len(longest) <= MAX_HEX_FRAME and decode_line(longest) is not None
    wrong = frame(0x7, b"\xf0\xed\x00" + b"\x12" * 100, delta=1)
    return [
        ("longest lines", longest),
        ("framing errors", b":4AAAAFD\n"),
        ("async", frame(0xA, b"\xd5\xed\x00\x10\x05")),
        ("wrong check", wrong),
        ("over MAX_HEX_FRAME", b":" + b"A" * MAX_HEX_FRAME + b"\n"),
        ("colons", b":"),
    ]


def _check_linear() -> Check:
    def lines_case(pattern: bytes) -> object:
        def prepare(size: int) -> object:
            items = [pattern] * max(1, size // len(pattern))

            def run() -> None:
                session = HexSession()
                session.request(REQUEST_LINES[0])
                session.next_line(0.0)
                for item in items:
                    session.receive(decode_line(item), 1.0)

            return run

        return prepare

    def stream_case(pattern: bytes) -> object:
        def prepare(size: int) -> object:
            data = (pattern * (size // len(pattern) + 1))[:size]
            chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]

            def run() -> None:
                parser, session = VEDirectParser(), HexSession()
                for piece in chunks:
                    parser.feed(piece)
                    while parser.hex_lines:
                        session.receive(decode_line(parser.hex_lines.popleft()), 0.0)

            return run

        return prepare

    cases = [(f"lines: {name}", lines_case(p)) for name, p in _pathological()]
    cases += [(f"stream: {name}", stream_case(p)) for name, p in _pathological()]
    return Check("linear", lambda o: linear_check(cases))  # type: ignore[arg-type]


def checks(options: Options) -> list[Check]:
    """Every VE.Direct HEX check, in order."""
    del options
    return [_check_decode(), _check_roundtrip(), _check_session(), _check_noise(), _check_linear()]

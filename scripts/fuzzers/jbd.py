"""Fuzz the JBD frame assembler and ``parse_frame`` (protocol/jbd.py).

Checks:

* ``assembler``: streams of real response frames (jbd_frames.json and both btsnoop transcripts),
  built frames of any register and payload (some with a spoiled checksum, tail or length), our own
  requests (an RS485 echo), FF AA login frames and garbage (with and without 0xDD), in random
  chunks. Every frame returned passes the checksum as computed here (§2.2, independently of the
  parser), is a response, and occurs in the input; ``frames`` counts them; the buffer stays under
  ``MAX_FRAME_LEN``. When the garbage holds no 0xDD, every intact frame comes out, in order.
  ``parse_frame`` of every returned frame returns a record or raises a ``JBDError``, nothing else.
* ``parse_frame``: arbitrary bytes and well-formed frames with random payloads for registers 0x03,
  0x04, 0x05 and 0xAA: only ``JBDError`` is raised, a record is returned only for a frame whose
  checksum holds (computed here), and the 0x03/0x04 values match a decode written here.
* ``noise``: ``--noise-mb`` MB of noise (random bytes, 0xDD storms, false starts with long length
  bytes, real frames) in chunks of 1 byte to 64 KiB: the buffer stays under ``MAX_FRAME_LEN``.
* ``linear``: pathological streams at 1 MB and 8 MB, fed in 20-byte (BLE) and 1-byte chunks.
"""

from __future__ import annotations

import contextlib
import random
import struct

from hypothesis import example, given, strategies as st

from custom_components.victron_venus.protocol import jbd
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
from tests.protocol.test_jbd import responses

RSS_GROWTH_LIMIT = 32 * 2**20
REAL = responses()
REQUEST_KINDS = (0xA5, 0x5A)


def checksum_holds(frame: bytes) -> bool:
    """§2.2 restated: DD, length byte, 0x77 tail, checksum = two's complement of the byte sum."""
    return (
        len(frame) >= 7
        and frame[0] == 0xDD
        and frame[3] + 7 == len(frame)
        and frame[-1] == 0x77
        and (-sum(frame[2:-3])) % 0x10000 == int.from_bytes(frame[-3:-1], "big")
    )


def build(register: int, status: int, payload: bytes) -> bytes:
    """A response frame with the right checksum (written here, not with jbd's helpers)."""
    body = bytes((status, len(payload))) + payload
    return b"\xdd" + bytes((register,)) + body + ((-sum(body)) % 0x10000).to_bytes(2, "big") + b"w"


@st.composite
def built_frames(draw: st.DrawFn) -> bytes:
    register = draw(st.sampled_from([0x03, 0x04, 0x05, 0xAA, 0xE1, 0x00, 0xFF, 0xDD]))
    status = draw(st.sampled_from([0x00, 0x00, 0x00, 0x80, 0x81, 0x01, 0xDD]))
    frame = bytearray(build(register, status, draw(st.binary(max_size=64))))
    spoil = draw(st.sampled_from(["none", "none", "none", "checksum", "tail", "length", "byte"]))
    if spoil == "checksum":
        frame[-2] ^= draw(st.integers(1, 255))
    elif spoil == "tail":
        frame[-1] = draw(st.integers(0, 255).filter(lambda b: b != 0x77))
    elif spoil == "length":
        frame[3] = draw(st.integers(0, 255))
    elif spoil == "byte":
        frame[draw(st.integers(0, len(frame) - 1))] = draw(st.integers(0, 255))
    return bytes(frame)


PIECES = st.one_of(
    st.sampled_from(REAL),
    built_frames(),
    st.builds(jbd.request, st.integers(0, 255)),
    st.builds(jbd.write_request, st.integers(0, 255), st.binary(max_size=8)),
    st.sampled_from([jbd.app_key_frame(), jbd.random_request_frame(), bytes.fromhex("ffaa1700")]),
    st.binary(max_size=40),
    st.binary(max_size=40).map(lambda b: b.replace(b"\xdd", b"")),
    st.sampled_from([b"\xdd", b"\xdd\x03", b"\xdd\x03\x00", b"\xdd\x03\x00\xff", b"\xdd\xdd\xdd"]),
)


def _status_ok(frame: bytes) -> bool:
    """A response's status byte is 0x00 or has bit 7 set (§2.2)."""
    return frame[2] == 0 or frame[2] >= 0x80


def _check_assembler() -> Check:
    counter = Counter()

    @given(
        pieces=st.lists(PIECES, max_size=24),
        sizes=st.lists(st.integers(1, 300), min_size=1, max_size=30),
    )
    # the cell-voltage continuation chunk that starts with 0xDD (0x0DDx mV) must not resync
    @example(pieces=[build(0x04, 0, struct.pack(">4H", 3549, 3550, 3551, 3552))], sizes=[5, 20])
    def assembler(pieces: list[bytes], sizes: list[int]) -> None:
        stream = b"".join(pieces)
        asm = jbd.FrameAssembler()
        out: list[bytes] = []
        for chunk in cut(stream, sizes):
            out += asm.feed(chunk)
            assert asm.buffered < jbd.MAX_FRAME_LEN
        assert asm.frames == len(out)
        for frame in out:
            assert checksum_holds(frame), frame.hex()
            assert frame[1] not in REQUEST_KINDS, frame.hex()
            assert frame[2] == 0 or frame[2] >= 0x80, frame.hex()
            assert frame in stream
            with contextlib.suppress(jbd.JBDError):  # a record or a JBDError, nothing else
                jbd.parse_frame(frame)
        whole = [checksum_holds(p) and (p[1] in REQUEST_KINDS or _status_ok(p)) for p in pieces]
        if not any(b"\xdd" in p for p, taken in zip(pieces, whole, strict=True) if not taken):
            # no false start anywhere: every intact response comes out, in order
            expected = [
                p
                for p, taken in zip(pieces, whole, strict=True)
                if taken and p[1] not in REQUEST_KINDS
            ]
            assert out == expected, ([f.hex() for f in out], [f.hex() for f in expected])
        counter.tick()

    return Check("assembler", lambda o: run_property(assembler, counter, o, 11))


def _u16(data: bytes, at: int) -> int:
    return data[at] << 8 | data[at + 1]


def _check_parse_frame() -> Check:
    counter = Counter()
    frames = st.one_of(
        st.binary(max_size=300),
        built_frames(),
        st.sampled_from(REAL),
        st.builds(
            build,
            st.sampled_from([0x03, 0x04, 0x05, 0xAA]),
            st.sampled_from([0x00, 0x00, 0x80]),
            st.binary(min_size=0, max_size=80),
        ),
    )

    @given(frame=frames)
    def parse_frame(frame: bytes) -> None:
        try:
            record = jbd.parse_frame(frame)
        except jbd.JBDError:
            counter.tick()
            return
        assert checksum_holds(frame), frame.hex()
        assert frame[2] == 0 and frame[1] not in REQUEST_KINDS
        payload = frame[4:-3]
        if isinstance(record, jbd.BasicInfo):
            assert frame[1] == 0x03
            assert record.voltage == _u16(payload, 0) / 100
            current = _u16(payload, 2)
            assert record.current == (current - 0x10000 if current & 0x8000 else current) / 100
            assert record.soc == payload[19]
            assert record.cell_count == payload[21] == len(record.balancing)
            ntc = payload[22]
            assert len(payload) >= 23 + 2 * ntc
            assert record.temperatures == [
                (_u16(payload, 23 + 2 * i) - 2731) / 10 for i in range(ntc)
            ]
        elif isinstance(record, jbd.CellVoltages):
            assert frame[1] == 0x04
            assert record.voltages == [_u16(payload, i) / 1000 for i in range(0, len(payload), 2)]
        else:
            assert frame[1] == 0x05
        counter.tick()

    return Check("parse_frame", lambda o: run_property(parse_frame, counter, o, 12))


def _noise_pool(rng: random.Random) -> list[bytes]:
    pool = [rng.randbytes(rng.randint(1, 4096)) for _ in range(64)]
    pool += [bytes(rng.choice(b"\xdd\x00\xff\x03\x04w") for _ in range(512)) for _ in range(32)]
    pool += [b"\xdd" * 300, b"\xdd\x03\x00\xff" * 100, b"\xdd\x04\x80\xfe" + b"\x00" * 250]
    pool += REAL
    return pool


def _check_noise() -> Check:
    def noise(options: Options) -> tuple[int, str]:
        rng = random.Random(options.seed + 10)
        pool = _noise_pool(rng)
        asm = jbd.FrameAssembler()
        total = 0
        peak = 0
        rss0 = rss_peak = rss_bytes()
        next_rss = MB
        while total < options.noise_mb * MB:
            data = b"".join(rng.choices(pool, k=rng.randint(1, 40)))
            for chunk in cut(data, [rng.choice([1, 7, 20, 64, 512, 4096, 65536])]):
                for frame in asm.feed(chunk):
                    assert checksum_holds(frame)
                assert asm.buffered < jbd.MAX_FRAME_LEN, asm.buffered
            held, _ = retained(asm)  # whatever the assembler keeps, measured from outside
            if held > peak:
                peak = held
                assert held < jbd.MAX_FRAME_LEN, f"the assembler holds {held} bytes"
            total += len(data)
            if total >= next_rss:
                rss_peak = max(rss_peak, rss_bytes())
                next_rss += MB
        growth = rss_peak - rss0
        assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.1f} MiB"
        note = (
            f"{total / MB:.0f} MB, {asm.frames} frames, {asm.checksum_errors} checksum errors,"
            f" peak buffer {peak} B, RSS +{growth / 2**20:.1f} MiB"
        )
        return total // MB, note

    return Check("noise", noise)


def _pathological() -> list[tuple[str, bytes]]:
    cells = build(0x04, 0, struct.pack(">16H", *[0x0DDA] * 16))
    return [
        ("0xDD storm", b"\xdd"),
        ("long false starts", b"\xdd\x03\x00\xff" + b"\x00" * 20),
        ("false start per 4 B", b"\xdd\x03\x00\xff"),
        ("bad checksums", build(0x03, 0, bytes(30))[:-2] + b"\x00w"),
        ("bad status", b"\xdd\x03\x01\x00"),
        ("0x0DDx cells", cells),
        ("real frames", b"".join(REAL)),
    ]


def _check_linear(chunk: int, small: int, large: int) -> Check:
    def make(pattern: bytes) -> object:
        def prepare(size: int) -> object:
            data = (pattern * (size // len(pattern) + 1))[:size]
            chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]

            def run() -> None:
                asm = jbd.FrameAssembler()
                for piece in chunks:
                    asm.feed(piece)

            return run

        return prepare

    cases = [(label, make(pattern)) for label, pattern in _pathological()]
    return Check(f"linear {chunk} B chunks", lambda o: linear_check(cases, small, large))  # type: ignore[arg-type]


def checks(options: Options) -> list[Check]:
    """Every JBD check, in order."""
    del options
    return [
        _check_assembler(),
        _check_parse_frame(),
        _check_noise(),
        _check_linear(20, MB, 8 * MB),
        _check_linear(1, MB // 16, MB // 2),
    ]

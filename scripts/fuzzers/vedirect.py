"""Fuzz the VE.Direct TEXT parser (protocol/vedirect.py).

Checks:

* ``reference``: random streams (generated blocks with right and wrong checksums, protocol tokens,
  HEX frames, noise, slices and mutations of the real captures) in random chunks with random
  ``reset()`` calls. After every chunk the parser agrees with the byte-at-a-time reference machine
  of tests/protocol/test_vedirect.py (written from the module doc alone) on every record, every
  counter and what stays buffered. Any exception escaping ``feed`` or ``record.values`` fails.
* ``checksums``: numbered blocks (an ``ID`` field each), some with a wrong checksum byte, some
  with a byte of the body changed afterwards, HEX frames inside, noise without CR, LF or ':'
  between: the records are exactly the blocks whose byte sum is 0 mod 256 (computed here,
  independently of the parser), in order, and ``checksum_errors`` counts the others.
* ``noise``: ``--noise-mb`` MB of noise of several kinds in chunks of 1 byte to 64 KiB: after every
  chunk the parser's own buffers (unfinished text and HEX frame, the kept blocks) and the module's
  memo caches stay within their bounds, and the process RSS does not grow.
* ``linear``: pathological inputs at 1 MB and 8 MB (blocks that just fit, runaway blocks, runaway
  HEX frames, marker storms, CR LF storms, colons), fed 4 KiB and 1 byte at a time.
"""

from __future__ import annotations

import random

from hypothesis import example, given, strategies as st

from custom_components.victron_venus.protocol import vedirect
from custom_components.victron_venus.protocol.vedirect import (
    LINE_CACHE_SIZE,
    MAX_BLOCK,
    MAX_HEX_FRAME,
    VEDirectParser,
)
from scripts.fuzzers._common import (
    MB,
    Check,
    Counter,
    Options,
    cut,
    linear_check,
    module_caches,
    retained,
    rss_bytes,
    run_property,
)
from tests.protocol.test_vedirect import (
    EXPECTED,
    TOKENS,
    Reference,
    block,
    capture,
    counters,
    hex_frame,
)

BUFFER_BOUND = MAX_BLOCK + MAX_HEX_FRAME
RSS_GROWTH_LIMIT = 32 * 2**20


def _labels() -> st.SearchStrategy[str]:
    known = st.sampled_from(["PID", "V", "I", "H1", "H7", "SOC", "CS", "OR", "T", "Alarm", "SER#"])
    return st.one_of(known, known, st.binary(max_size=11).map(lambda b: b.decode("latin-1")))


@st.composite
def generated_block(draw: st.DrawFn) -> bytes:
    """A block of random fields, mostly with the right checksum."""
    value = st.one_of(
        st.sampled_from(["0x203", "0xA042", "12000", "-1", "---", "ON", "3", "HQ2247EP3FN"]),
        st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=40),
    )
    fields = draw(st.lists(st.tuples(_labels(), value), max_size=8))
    if draw(st.booleans()):
        fields.insert(0, ("PID", draw(st.sampled_from(["0x203", "0xA042", "0xA06C", "0xA381"]))))
    encoded = [(lab.encode("latin-1"), val.encode("latin-1")) for lab, val in fields]
    delta = draw(st.sampled_from([0, 0, 0, 1, 128, 255]))
    data = block(*encoded, checksum_delta=delta)
    if draw(st.integers(0, 9)) == 0:  # a HEX frame anywhere inside
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(TOKENS[8:10])) + data[at:]
    return data


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Anything a port may deliver, the real captures included."""
    parts: list[bytes] = []
    kinds = st.sampled_from(["block", "block", "token", "noise", "capture", "mutated", "long"])
    for kind in draw(st.lists(kinds, max_size=16)):
        if kind == "block":
            parts.append(draw(generated_block()))
        elif kind == "long":
            size = draw(st.integers(MAX_BLOCK - 40, MAX_BLOCK + 40))
            parts.append(b"\r\nL\t" + b"x" * size)
        elif kind == "token":
            parts.append(draw(st.sampled_from(TOKENS)) * draw(st.integers(1, 3)))
        elif kind == "noise":
            parts.append(draw(st.binary(max_size=64)))
        else:
            data = bytearray(capture(draw(st.sampled_from(sorted(EXPECTED)))))
            start = draw(st.integers(0, len(data) - 1))
            piece = data[start : start + draw(st.integers(1, 1200))]
            if kind == "mutated":
                for _ in range(draw(st.integers(1, 6))):
                    at = draw(st.integers(0, len(piece)))
                    if at < len(piece) and draw(st.booleans()):
                        piece[at] = draw(st.integers(0, 255))
                    else:
                        piece[at:at] = draw(st.sampled_from([*TOKENS, b"\x00", b"\xff"]))
            parts.append(bytes(piece))
    return b"".join(parts)


def _check_reference() -> Check:
    counter = Counter()
    sizes = st.lists(st.integers(1, 700), min_size=1, max_size=30)

    @given(data=streams(), sizes=sizes, resets=st.sets(st.integers(0, 40), max_size=2))
    # the boundaries the fast path switches at (adler32 exact up to 256 bytes), by hand
    @example(
        data=block(("PID", "0x203"), (b"Z", b"\xff" * 250)) * 2,
        sizes=[1000],
        resets=set(),
    )
    def reference(data: bytes, sizes: list[int], resets: set[int]) -> None:
        parser, ref = VEDirectParser(), Reference()
        for number, chunk in enumerate(cut(data, sizes)):
            records = parser.feed(chunk)
            assert [r.fields for r in records] == ref.feed(chunk)
            for record in records:
                record.values  # noqa: B018  (decoding must not raise either)
            assert counters(parser) == counters(ref)
            assert parser.buffered < BUFFER_BOUND
            if number in resets:
                parser.reset()
                ref.reset()
                assert counters(parser) == counters(ref)
        counter.tick()

    return Check("reference", lambda o: run_property(reference, counter, o, 1))


FRAMING = frozenset(b"\r\n\t:")
CLEAN_NOISE = st.binary(max_size=12).map(lambda b: bytes(x for x in b if x not in b"\r\n:"))


@st.composite
def numbered(draw: st.DrawFn) -> tuple[bytes, list[str], int]:
    """(stream, IDs of blocks whose byte sum is 0 mod 256, checksum errors expected)."""
    frames = st.sampled_from([hex_frame("A0102000005"), hex_frame("A8DED00800A", good=False)])
    extra = st.sampled_from([("V", "12800"), ("I", "-5"), ("T", "---"), ("SER#", "HQ1"), ("X", "")])
    parts: list[bytes] = []
    good: list[str] = []
    errors = 0
    for number in range(draw(st.integers(1, 14))):
        data = bytearray(
            block(
                ("PID", "0x203"),
                ("ID", str(number)),
                *draw(st.lists(extra, max_size=8)),
                checksum_delta=draw(st.sampled_from([0, 0, 0, 1, 17, 255])),
            )
        )
        # change body bytes (never framing bytes, never the Checksum label): the checksum decides
        marker = data.index(b"\r\nChecksum\t")
        id_end = data.index(b"\r\n", data.index(b"\r\nID\t") + 2)
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
            at = draw(st.integers(2, marker - 1))
            new = draw(st.integers(0, 255))
            # only bytes after the ID line: the first label and the ID stay readable
            if at > id_end and data[at] not in FRAMING and new not in FRAMING:
                data[at] = new
        ok = sum(data) % 256 == 0  # independent of the parser: §1.2's rule itself
        if draw(st.booleans()):  # a HEX frame anywhere but at the checksum byte
            at = draw(st.integers(0, len(data) - 2))
            data[at:at] = draw(frames)
        parts += [bytes(data), draw(CLEAN_NOISE)]
        if ok:
            good.append(str(number))
        elif number:  # the first block may be a start-up fragment: not counted
            errors += 1
    return b"".join(parts), good, errors


def _check_checksums() -> Check:
    counter = Counter()

    @given(stream=numbered(), sizes=st.lists(st.integers(1, 500), min_size=1, max_size=30))
    def checksums(stream: tuple[bytes, list[str], int], sizes: list[int]) -> None:
        data, good, errors = stream
        parser = VEDirectParser()
        ids = []
        for chunk in cut(data, sizes):
            for record in parser.feed(chunk):
                ids.append(record.fields["ID"])
                record.values  # noqa: B018
        assert ids == good, (ids, good)
        assert parser.checksum_errors == errors
        counter.tick()

    return Check("checksums", lambda o: run_property(checksums, counter, o, 2))


# --- bounded buffers on noise ---------------------------------------------------------------------


def noise_pieces(rng: random.Random) -> list[bytes]:
    """A pool of noise pieces; the noise stream is random picks, so it costs no Python loop."""
    alphabet = b"\r\n\t:0123456789ABCDEFabcdefChecksumPIDVIH#-"
    pool = [rng.randbytes(rng.randint(1, 4096)) for _ in range(64)]
    pool += [bytes(rng.choices(alphabet, k=rng.randint(1, 4096))) for _ in range(64)]
    pool += [
        b"\r\n" + b"x" * rng.randint(MAX_BLOCK - 20, MAX_BLOCK + 2000),  # runaway blocks
        b":" + b"A" * rng.randint(MAX_HEX_FRAME - 5, MAX_HEX_FRAME + 5),  # runaway HEX frames
        b"\r\nChecksum\t" * 50,
        b"\r\n" * 500,
        b":" * 300,
        b"\r\nPID\t0x203\r\nV\t12000" * 100,
    ]
    for _ in range(64):  # real-looking blocks: good, bad and with many fields
        fields = [(f"L{i}", str(rng.randint(-(10**6), 10**6))) for i in range(rng.randint(0, 45))]
        pool.append(
            block(
                ("PID", rng.choice(["0x203", "0xA042"])),
                *fields,
                checksum_delta=rng.choice([0, 1]),
            )
        )
    pool += [capture(name) for name in sorted(EXPECTED)]
    return pool


PARSER_RETAINED_LIMIT = 256 * 1024
"""Bytes one parser may hold: an unfinished block and HEX frame (< 2.6 KB), the latest block of
each of MAX_KINDS kinds (< 17 KB) and whatever small queues it keeps; 50 MB of noise must not
push it anywhere near this."""
CACHE_ENTRIES_LIMIT = 2 * LINE_CACHE_SIZE
CACHE_BYTES_LIMIT = 16 * 2**20


def _check_noise() -> Check:
    def noise(options: Options) -> tuple[int, str]:
        rng = random.Random(options.seed)
        pool = noise_pieces(rng)
        parser = VEDirectParser()
        caches = module_caches(vedirect)
        cache_limits = {n: max(len(c), CACHE_ENTRIES_LIMIT) for n, c in caches.items()}
        total = 0
        peak_buffered = peak_held = peak_cache_entries = peak_cache_bytes = 0
        rss0 = rss_peak = rss_bytes()
        target = options.noise_mb * MB
        next_deep = 0
        while total < target:
            data = b"".join(rng.choices(pool, k=rng.randint(1, 40)))
            for chunk in cut(data, [rng.choice([1, 7, 20, 64, 512, 4096, 65536])]):
                for record in parser.feed(chunk):
                    record.values  # noqa: B018
                assert parser.buffered < BUFFER_BOUND, parser.buffered
                peak_buffered = max(peak_buffered, parser.buffered)
            total += len(data)
            if total >= next_deep:  # the deep walk is slow: every 256 KB
                next_deep += 256 * 1024
                held, _ = retained(parser)
                peak_held = max(peak_held, held)
                assert held < PARSER_RETAINED_LIMIT, f"the parser holds {held} bytes"
                for name, cache in caches.items():
                    assert len(cache) <= cache_limits[name], (name, len(cache))
                cache_bytes, cache_entries = retained(list(caches.values()))
                peak_cache_entries = max(peak_cache_entries, cache_entries)
                peak_cache_bytes = max(peak_cache_bytes, cache_bytes)
                assert cache_bytes < CACHE_BYTES_LIMIT, f"module caches hold {cache_bytes} B"
                rss_peak = max(rss_peak, rss_bytes())
        growth = rss_peak - rss0
        assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.1f} MiB"
        note = (
            f"{total / MB:.0f} MB, {parser.blocks} records; peak: buffered {peak_buffered} B,"
            f" parser holds {peak_held} B, module caches {peak_cache_entries} entries"
            f" {peak_cache_bytes / 1024:.0f} KiB; RSS +{growth / 2**20:.1f} MiB"
        )
        return total // MB, note

    return Check("noise", noise)


# --- linear time ----------------------------------------------------------------------------------


def _fill(pattern: bytes, size: int) -> bytes:
    return pattern * (size // len(pattern) + 1)


def _pathological() -> list[tuple[str, bytes]]:
    fit = block(("PID", "0x203"), *[("F", "a" * 30)] * 39)  # 40 fields: the fast path's limit
    just_fits = block(("PID", "0x203"), *[("Y", "z" * 60)] * 31)  # near MAX_BLOCK, long values
    assert len(just_fits) <= MAX_BLOCK
    runaway = b"\r\n" + b"x" * (MAX_BLOCK - 3)  # never ends: an overrun every block
    return [
        ("max fields", fit),
        ("near MAX_BLOCK", just_fits),
        ("runaway block", runaway),
        ("runaway HEX", b":" + b"A" * (MAX_HEX_FRAME - 2)),
        ("markers", b"\r\nChecksum\t"),
        ("CR LF", b"\r\n"),
        ("colons", b":"),
        ("bad blocks", block(("PID", "0x203"), ("V", "1"), checksum_delta=1)),
    ]


def _check_linear(chunk: int, small: int, large: int) -> Check:
    def make(pattern: bytes) -> object:
        def prepare(size: int) -> object:
            data = _fill(pattern, size)[:size]
            chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]

            def run() -> None:
                parser = VEDirectParser()
                for piece in chunks:
                    for record in parser.feed(piece):
                        record.values  # noqa: B018

            return run

        return prepare

    name = f"linear {chunk} B chunks"
    cases = [(label, make(pattern)) for label, pattern in _pathological()]
    return Check(name, lambda o: linear_check(cases, small, large))  # type: ignore[arg-type]


def checks(options: Options) -> list[Check]:
    """Every VE.Direct check, in order."""
    del options
    return [
        _check_reference(),
        _check_checksums(),
        _check_noise(),
        _check_linear(4096, MB, 8 * MB),
        _check_linear(1, MB // 16, MB // 2),
    ]

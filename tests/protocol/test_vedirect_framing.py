"""VE.Direct TEXT framing, byte by byte: the one path through protocol/vedirect.py.

Every stream here is fed whole, in 1-byte chunks and in 2- and 3-byte chunks, and must give the
same records (exact fields), counters and HEX lines each way: HEX frames inside blocks and
between them, ``:``, CR and LF as checksum bytes, a BMV's two block kinds merged into one
record. Then: records that share a block, ``hex_lines`` and ``forget_device``.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import product
import string

import pytest

from custom_components.victron_venus.protocol.vedirect import (
    MAX_HEX_LINES,
    VEDirectParser,
    VEDirectRecord,
)

COUNTERS = (
    "blocks",
    "checksum_errors",
    "format_errors",
    "overruns",
    "hex_frames",
    "hex_checksum_errors",
    "bytes_discarded",
    "buffered",
)

# real HEX frames (kindr007 SmartSolar 150/70 capture, §1.9)
HEX_A = b":ABBED008D28EE\n"
HEX_B = b":AD5ED009714DE\n"
HEX_BAD = b":ABBED008D28EF\n"  # check byte off by one


def block(*fields: tuple[str, str]) -> bytes:
    """A text block with the right checksum byte (§1.2)."""
    body = b"".join(b"\r\n" + label.encode() + b"\t" + value.encode() for label, value in fields)
    body += b"\r\nChecksum\t"
    return body + bytes([-sum(body) % 256])


def block_ending_in(checksum: int, *fields: tuple[str, str]) -> tuple[bytes, dict[str, str]]:
    """A good block ending in the checksum byte ``checksum``, and its fields (X tunes it)."""
    for tune in map("".join, product(string.ascii_letters, repeat=3)):
        data = block(*fields, ("X", tune))
        if data[-1] == checksum:
            return data, dict([*fields, ("X", tune)])
    raise AssertionError("no tuning value gives that checksum byte")  # pragma: no cover


def chunks(data: bytes, size: int) -> Iterable[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def run(data: bytes, size: int) -> tuple[list[dict[str, str]], dict[str, int], list[bytes]]:
    """Feed ``data`` in ``size``-byte chunks: the records' fields, the counters, the HEX lines."""
    parser = VEDirectParser()
    records: list[VEDirectRecord] = []
    for chunk in chunks(data, size):
        records += parser.feed(chunk)
    counters = {name: getattr(parser, name) for name in COUNTERS}
    return [record.fields for record in records], counters, list(parser.hex_lines)


def same_any_chunking(data: bytes) -> tuple[list[dict[str, str]], dict[str, int], list[bytes]]:
    """The result of feeding ``data`` whole, after checking 1-, 2- and 3-byte chunks give it."""
    whole = run(data, len(data))
    for size in (1, 2, 3):
        assert run(data, size) == whole, size
    return whole


MAIN = (("PID", "0x203"), ("V", "12800"), ("I", "-1500"))
HISTORY = (("H1", "-3000"), ("H7", "11900"))


def test_hex_frames_inside_blocks_any_chunking() -> None:
    """A HEX frame cut out of the middle of a field, of a label and of the trailer (§1.4)."""
    main = block(*MAIN)
    history = block(*HISTORY)
    in_value = main.index(b"12800") + 2  # b"12" HEX b"800"
    in_label = history.index(b"H7") + 1  # b"H" HEX b"7"
    in_trailer = history.index(b"Checksum") + 4  # b"Chec" HEX b"ksum\t"
    history_cut = (
        history[:in_label] + HEX_A + history[in_label:in_trailer] + HEX_BAD + history[in_trailer:]
    )
    data = b"noise" + main[:in_value] + HEX_B + main[in_value:] + history_cut
    fields, counters, hex_lines = same_any_chunking(data)
    assert fields == [dict(MAIN), dict(MAIN) | dict(HISTORY)]
    assert counters == {
        "blocks": 2,
        "checksum_errors": 0,
        "format_errors": 0,
        "overruns": 0,
        "hex_frames": 2,
        "hex_checksum_errors": 1,
        "bytes_discarded": len(b"noise") + len(HEX_BAD),
        "buffered": 0,
    }
    assert hex_lines == [HEX_B, HEX_A]


@pytest.mark.parametrize("checksum", [ord(":"), ord("\r"), ord("\n")])
def test_checksum_byte_colon_cr_lf_any_chunking(checksum: int) -> None:
    """``:`` after ``Checksum\\t`` is the checksum byte, not a HEX frame; CR and LF end nothing."""
    first, first_fields = block_ending_in(checksum, *MAIN)
    second, second_fields = block_ending_in(checksum, *HISTORY)
    data = first + HEX_A + second + block(*MAIN)
    fields, counters, hex_lines = same_any_chunking(data)
    # the block after a CR checksum byte still starts at its own CR LF
    assert fields == [first_fields, first_fields | second_fields, dict(MAIN) | second_fields]
    assert counters["blocks"] == 3
    assert counters["checksum_errors"] == counters["format_errors"] == 0
    assert counters["hex_frames"] == 1
    assert counters["hex_checksum_errors"] == 0
    assert counters["bytes_discarded"] == 0
    assert hex_lines == [HEX_A]


def test_bmv_main_and_history_merge_any_chunking() -> None:
    """Two kinds in turn: every record holds the newest block of each, oldest kind first."""
    mains = [block(("PID", "0x203"), ("V", str(12000 + i))) for i in range(3)]
    histories = [block(("H1", str(-i)), ("H7", "11900")) for i in range(3)]
    data = b"".join(m + h for m, h in zip(mains, histories, strict=True))
    fields, counters, _ = same_any_chunking(data)
    expected = []
    for i in range(3):
        main = {"PID": "0x203", "V": str(12000 + i)}
        if i:
            expected.append({"H1": str(1 - i), "H7": "11900"} | main)
        else:
            expected.append(main)
        expected.append(main | {"H1": str(-i), "H7": "11900"})
    assert fields == expected
    assert [list(f) for f in fields[1:3]] == [
        ["PID", "V", "H1", "H7"],
        ["H1", "H7", "PID", "V"],  # the main block is now the newest kind
    ]
    assert counters["blocks"] == 6
    assert counters["bytes_discarded"] == 0


def test_records_sharing_a_block_have_dicts_of_their_own() -> None:
    """The same block text twice is one parsed block in two records; their dicts stay apart."""
    parser = VEDirectParser()
    first, second = parser.feed(block(*MAIN) * 2)
    first.fields["V"] = "0"
    first.values["V"] = 0.0
    assert second.fields == dict(MAIN)
    assert second.values == {"PID": 0x203, "V": 12.8, "I": -1.5}
    assert first.fields == {"PID": "0x203", "V": "0", "I": "-1500"}


def test_hex_lines_keep_the_latest_good_frames() -> None:
    parser = VEDirectParser()
    assert parser.feed(HEX_A + HEX_BAD + HEX_B) == []
    assert list(parser.hex_lines) == [HEX_A, HEX_B]
    assert parser.hex_lines.popleft() == HEX_A
    frames = [f":1{i:02X}{(0x55 - 1 - i) % 256:02X}\n".encode() for i in range(MAX_HEX_LINES + 5)]
    parser.feed(b"".join(frames))
    assert list(parser.hex_lines) == frames[5:]  # HEX_B and the 5 oldest went
    assert (parser.hex_frames, parser.hex_checksum_errors) == (MAX_HEX_LINES + 7, 1)


def test_forget_device_drops_the_blocks_held() -> None:
    parser = VEDirectParser()
    parser.feed(block(*MAIN) + block(*HISTORY))
    parser.forget_device()
    (record,) = parser.feed(block(*HISTORY))
    assert record.fields == dict(HISTORY)
    (record,) = parser.feed(block(("PID", "0xA053"), ("V", "13000")))
    assert record.fields == {"H1": "-3000", "H7": "11900", "PID": "0xA053", "V": "13000"}
    assert (parser.blocks, parser.checksum_errors, parser.bytes_discarded) == (4, 0, 0)

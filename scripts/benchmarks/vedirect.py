"""VE.Direct TEXT parser throughput: ours against the PyPI parsers `vedirect` and `vedirect-m8`.

The input is the three karioja captures (BMV-702, BlueSolar 1.23, SmartSolar 1.39; 239,495 bytes,
1,647 blocks, 9 HEX frames) concatenated and repeated to about 2.9 MB. Every parser gets the
same bytes, in the same run, driven through its own parsing code without a serial port:

* ours: ``VEDirectParser.feed()`` in 4 KiB chunks (serial reads are at most a few KiB). Three
  rows: feed only (records framed, verified, merged; fields are split when a record is read),
  feed + ``record.fields`` of EVERY record (the like-for-like row: the others build a field
  dict per block), and feed + ``record.values`` of every record (decoded to SI units). The Home
  Assistant source reads only the last record of each chunk.
* ``vedirect`` 1.1.0 (PyPI): ``VEDirect._get_data`` reads lines with ``serial.readline()`` from
  one PID line to the next, then ``check_frame_checksum`` and ``parse_pdu``. It opens the port on
  every call, so here the same loop reads every PDU from an in-memory ``readline`` (io.BytesIO)
  and calls the library's two functions on each. PDUs with HEX frames fail their checksum.
* ``vedirect-m8`` 1.3.4 (PyPI): ``Vedirect.input_read(byte)`` is its state machine, fed one byte
  at a time (``serial.read(1)`` in ``get_serial_packet``), ``init_data_read()`` after a packet
  as ``read_global_packet`` does; exceptions it raises on bad bytes are caught and counted.

The comparison libraries are installed under .cache/bench-libs only (scripts/benchmarks/_common),
never into the venv. Times are the best of 5 rounds of wall time (3 for the slow vedirect-m8);
other load on the machine slows every row alike. Run from the repository:
``.venv/bin/python -m scripts.benchmarks.vedirect``.
"""

from __future__ import annotations

from collections.abc import Callable
import io
import platform
import sys
from types import ModuleType
from typing import Any

from scripts.benchmarks._common import FIXTURES, REPO, best_time, comparison_library, table

if str(REPO) not in sys.path:  # pragma: no cover - _common already does this
    sys.path.insert(0, str(REPO))

from custom_components.victron_venus.protocol.vedirect import VEDirectParser

CAPTURES = ("karioja_bvm702.dump", "karioja_bluesolar_1.23.dump", "karioja_smartsolar_1.39.dump")
REPEAT = 12
CHUNK = 4096


def load() -> bytes:
    base = b"".join((FIXTURES / "vedirect" / name).read_bytes() for name in CAPTURES)
    return base * REPEAT


def ours(data: bytes, read: str | None) -> Callable[[], int]:
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]

    def run() -> int:
        feed = VEDirectParser().feed
        count = 0
        for chunk in chunks:
            records = feed(chunk)
            count += len(records)
            if read == "fields":
                for record in records:
                    record.fields  # noqa: B018 - the access is what is measured
            elif read == "values":
                for record in records:
                    record.values  # noqa: B018
        return count

    return run


def pypi_vedirect(module: ModuleType, data: bytes) -> Callable[[], int]:
    """`vedirect` 1.1.0: the `_get_data` line loop over every PDU, then its checksum and parse."""
    cls: Any = module.VEDirect
    check = cls.check_frame_checksum

    def run() -> int:
        device = cls.__new__(cls)  # __init__ opens the serial port
        device._data = {}
        readline = io.BytesIO(data).readline
        count = 0
        line = readline()
        while line and not line.startswith(b"PID"):  # "Wait for start of frame"
            line = readline()
        while line:
            pdu: list[bytes] = []
            line = readline()
            while line and not line.startswith(b"PID"):  # "slurp all frames"
                pdu.append(line)
                line = readline()
            if line:
                pdu.append(line)
            if check(pdu):
                try:
                    device.parse_pdu(pdu)
                except ValueError:  # a line that is not "label\tvalue"
                    continue
                count += 1
        return count

    return run


def pypi_vedirect_m8(module: ModuleType, data: bytes) -> Callable[[], int]:
    """`vedirect-m8` 1.3.4: `Vedirect.input_read()`, one byte at a time."""
    from vedirect_m8.exceptions import VedirectException  # type: ignore[import-not-found]

    def run() -> int:
        parser = module.Vedirect(serial_conf={"serial_port": "/dev/ttyUSB0"}, auto_start=False)
        input_read = parser.input_read
        count = 0
        for i in range(len(data)):
            try:
                packet = input_read(data[i : i + 1])
            except VedirectException:
                parser.init_data_read()
                continue
            if packet is not None:
                count += 1
                parser.init_data_read()
        return count

    return run


def main() -> None:
    data = load()
    size = len(data)
    rows: list[tuple[str, str, float, int]] = []

    def measure(name: str, how: str, run: Callable[[], int], repeat: int = 5) -> float:
        count = run()
        seconds = best_time(run, repeat=repeat)
        rate = size / seconds / 1e6
        rows.append((name, how, rate, count))
        return rate

    ours_rates = {
        read: measure(
            f"victron_venus{'' if read is None else ' + ' + read}",
            {
                None: "feed(), 4 KiB chunks",
                "fields": "feed(), then .fields of every record",
                "values": "feed(), then .values of every record",
            }[read],
            ours(data, read),
        )
        for read in (None, "fields", "values")
    }
    theirs: dict[str, float] = {}
    vedirect = comparison_library("vedirect==1.1.0", "vedirect")
    if vedirect is not None:
        theirs["vedirect"] = measure(
            "vedirect 1.1.0",
            "readline per PDU, check_frame_checksum, parse_pdu",
            pypi_vedirect(vedirect, data),
        )
    m8 = comparison_library("vedirect-m8==1.3.4", "vedirect_m8.vedirect")
    if m8 is not None:
        theirs["vedirect-m8"] = measure(
            "vedirect-m8 1.3.4", "input_read, byte by byte", pypi_vedirect_m8(m8, data), repeat=3
        )
    fastest = max(theirs.values(), default=0.0)
    print(
        f"VE.Direct TEXT parsing, {size / 1e6:.2f} MB (three karioja captures x {REPEAT}), "
        f"Python {platform.python_version()}, best of 5 rounds (vedirect-m8: 3)"
    )
    print()
    print(
        table(
            ["parser", "driven by", "MB/s", "records / PDUs", "x fastest PyPI"],
            [
                [name, how, f"{rate:.1f}", count, f"{rate / fastest:.1f}" if fastest else "n/a"]
                for name, how, rate, count in rows
            ],
        )
    )
    if fastest:
        best = max(theirs, key=theirs.__getitem__)
        print()
        print(
            f"feed(): {ours_rates[None] / fastest:.1f}x {best}; "
            f"with the fields of every record: {ours_rates['fields'] / fastest:.1f}x"
        )


if __name__ == "__main__":
    main()

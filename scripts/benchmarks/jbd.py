"""Benchmark: JBD frames decoded per second, ours vs aiobmsble, on the real captures' BLE chunks.

Run from the repo root: ``.venv/bin/python -m scripts.benchmarks.jbd``.

What is timed, for both libraries, in the same process and run:

* The workload is every real 0x03 / 0x04 / 0x05 response in ../shared/fixtures/jbd: the frames of
  both btsnoop transcripts as the real notification chunks (20 + 16 bytes for 0x03, one chunk for
  a 4S 0x04), plus the jbd_frames.json frames (UART captures, the official examples, aiobmsble's
  own mocks) cut into 20-byte notifications as a default-MTU BLE link delivers them. The chunks are
  prepared once as ``bytearray`` (what bleak hands a notification callback); a pass feeds them all.
* Ours: one ``FrameAssembler`` for the whole pass; ``parse_frame`` on every frame it returns
  (checksum verified twice: once while assembling, once in parse_frame). parse_frame does more than
  aiobmsble's decode: production date, per-cell balancing list, protection names, software version.
* aiobmsble (``aiobmsble.bms.jbd_bms.BMS``, built around a BLEDevice, no radio): its real
  notification handler ``_notification_handler`` (buffering, length, tail, checksum, register and
  status checks) for every chunk, with ``_valid_reply`` set to the register as ``_await_cmd_resp``
  does; then, when its ``_msg_event`` fires, the decode steps of ``_async_update`` (``_decode_data``
  over ``_FIELDS`` + the /10 flag + ``_temp_values``) for 0x03, ``_cell_voltages`` for 0x04 and
  ``b2str`` for 0x05 as ``_fetch_device_info`` does.
* Before timing, both decodes of every frame are compared (voltage, current, cells, model).
* ``best_time`` from _common, interleaved: ours and aiobmsble take turns for 7 rounds of >= 0.1 s
  each and each keeps its best round, so background load on the machine hits both alike.
"""

from collections.abc import Callable
from functools import partial
import json
from typing import Any

from custom_components.victron_venus.protocol import jbd
from scripts.benchmarks._common import FIXTURES, best_time, comparison_library, table
from tests.fakes.jbd_transcript import load

TRANSCRIPTS = (
    "syssi_btsnoop_hci_jbd-sp04s034-l4s-200a-b-u.att.txt",
    "syssi_JBD-SP04S034L4S200A-V1.3-btsnoop_hci.att.txt",
)
BLE_CHUNK = 20  # ATT MTU 23 - 3 (protocols.md §2.1)
REGISTERS = (0x03, 0x04, 0x05)

Workload = list[tuple[int, list[bytearray]]]


def workload() -> Workload:
    """(register, notification chunks) for every real 0x03/0x04/0x05 response in the fixtures."""
    items: Workload = []
    for name in TRANSCRIPTS:
        for frame in load(FIXTURES / "jbd" / name).frames:
            if frame.register in REGISTERS:
                items.append((frame.register, [bytearray(c) for c in frame.chunks]))
    entries: list[dict[str, Any]] = json.loads((FIXTURES / "jbd" / "jbd_frames.json").read_text())
    for entry in entries:
        for frame in entry["frames"]:
            if frame["kind"] == "response" and frame["reg"] in REGISTERS:
                raw = bytes.fromhex(frame["hex"])
                chunks = [bytearray(raw[i : i + BLE_CHUNK]) for i in range(0, len(raw), BLE_CHUNK)]
                items.append((frame["reg"], chunks))
    return items


def ours(items: Workload) -> list[object]:
    """Assemble and decode every frame of ``items`` with protocol.jbd."""
    assembler = jbd.FrameAssembler()
    feed = assembler.feed
    parse = jbd.parse_frame
    out: list[object] = []
    for _register, chunks in items:
        for chunk in chunks:
            out.extend(parse(frame) for frame in feed(chunk))
    return out


def aiobmsble_decoder(module: Any) -> Callable[[Workload], list[object]]:
    """Build a function that runs aiobmsble's JBD handler and decoders over a workload."""
    from aiobmsble.basebms import b2str
    from bleak.backends.device import BLEDevice

    bms_class = module.BMS
    device = BLEDevice(
        "10:A5:62:32:75:36", "JBD-bench", {"path": "/org/bluez/hci0/dev_10_A5_62_32_75_36"}
    )
    bms = bms_class(device)
    handler = bms._notification_handler
    event = bms._msg_event

    def decode_basic(msg: bytes) -> dict[str, Any]:  # _async_update, 0x03 part
        result: dict[str, Any] = bms_class._decode_data(bms_class._FIELDS, msg)
        ctrl = 27 + 2 * result.get("temp_sensors", 0)
        if int.from_bytes(msg[ctrl : ctrl + 1]) & 0x80:
            result |= bms_class._decode_data(bms_class._FIELDS_D10, msg)
        result["temp_values"] = bms_class._temp_values(
            msg,
            values=result.get("temp_sensors", 0),
            start=27,
            signed=False,
            offset=2731,
            divider=10,
            types=bms_class._TEMP_TYPES,
        )
        return result

    def decode_cells(msg: bytes) -> list[float]:  # _async_update, 0x04 part
        cells: list[float] = bms_class._cell_voltages(
            msg, cells=msg[3] // 2, start=4, byteorder="big"
        )
        return cells

    def decode_model(msg: bytes) -> str:  # _fetch_device_info, 0x05 part
        model: str = b2str(msg[4 : msg[3] + 4])
        return model

    decoders = {0x03: decode_basic, 0x04: decode_cells, 0x05: decode_model}

    def run(items: Workload) -> list[object]:
        out: list[object] = []
        for register, chunks in items:
            bms._valid_reply = register
            decode = decoders[register]
            for chunk in chunks:
                handler(None, chunk)
                if event.is_set():
                    event.clear()
                    out.append(decode(bms._msg))
        return out

    return run


def cross_check(items: Workload, mine: list[object], theirs: list[object]) -> None:
    """Both decoders must agree on every frame before their speed means anything."""
    if len(mine) != len(items) or len(theirs) != len(items):
        raise SystemExit(f"frame count differs: {len(items)} sent, {len(mine)} / {len(theirs)}")
    for record, other in zip(mine, theirs, strict=True):
        if isinstance(record, jbd.BasicInfo):
            assert isinstance(other, dict)
            got = (other["voltage"], other["current"], other["cell_count"], other["battery_level"])
            want = (record.voltage, record.current, record.cell_count, record.soc)
            temps = [t.value if hasattr(t, "value") else t[0] for t in other["temp_values"]]
            ok = got == want and temps == record.temperatures
        elif isinstance(record, jbd.CellVoltages):
            ok = other == record.voltages
        else:
            assert isinstance(record, jbd.HardwareInfo)
            ok = other == record.model
        if not ok:
            raise SystemExit(f"decoders disagree: {record!r} vs {other!r}")


def interleaved(funcs: list[Callable[[], object]], rounds: int = 7) -> list[float]:
    """Best seconds per call of each function, measured in turns so load spikes hit all alike."""
    best = [float("inf")] * len(funcs)
    for _ in range(rounds):
        for index, func in enumerate(funcs):
            best[index] = min(best[index], best_time(func, repeat=1, min_seconds=0.1))
    return best


def main() -> None:
    """Print the markdown table."""
    items = workload()
    module = comparison_library("aiobmsble", "aiobmsble.bms.jbd_bms")
    theirs = aiobmsble_decoder(module) if module is not None else None
    version = getattr(__import__("aiobmsble"), "__version__", "?") if module is not None else "-"
    if theirs is not None:
        cross_check(items, ours(items), theirs(items))
    rows: list[list[object]] = []
    groups = [("all 0x03/0x04/0x05", items)] + [
        (f"0x{register:02X} only", [item for item in items if item[0] == register])
        for register in REGISTERS
    ]
    for label, group in groups:
        chunks = sum(len(c) for _, c in group)
        runners: list[Callable[[Workload], list[object]]] = [ours]
        if theirs is not None:
            runners.append(theirs)
        seconds = interleaved([partial(run, group) for run in runners])
        our_rate = len(group) / seconds[0]
        if theirs is not None:
            their_rate = len(group) / seconds[1]
            their_cell, ratio = f"{their_rate:,.0f}", f"{our_rate / their_rate:.2f}x"
        else:
            their_cell, ratio = "n/a", "n/a"
        rows.append([label, len(group), chunks, f"{our_rate:,.0f}", their_cell, ratio])
    print(
        table(
            [
                "workload (real BLE chunks)",
                "frames",
                "chunks",
                "ours frames/s",
                f"aiobmsble {version} frames/s",
                "ours / aiobmsble",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()

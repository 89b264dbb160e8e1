"""VE.Direct HEX (issue 11): does decoding HEX make the TEXT path slower?

µs of event-loop time per record through the real `VEDirectSource._on_data` (parser, HEX side,
coordinator, entities, state machine) of an in-process Home Assistant, fed a capture's records
directly (no pty), write interval 5 s, for:

* the SmartSolar 150/70 capture (6-8 async HEX frames between the two blocks of each record,
  protocols.md §1.9) and the BMV-702 capture (TEXT only);
* HEX lines dropped unread (`VEDirectHex.feed` replaced by a no-op: what the integration did
  before issue 11), HEX decoded with Control off, HEX decoded with Control on;
* with the async line cache emptied before every pass (every line decoded anew: the worst case)
  and as it runs (2 s of looping over the capture after a warm-up pass that creates the
  entities).

Run: `scripts/bench vedirect_hex`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

from scripts.benchmarks._common import FIXTURES, REPO, table

sys.path.insert(0, str(REPO))

CAPTURES = (
    ("SmartSolar 150/70", "kindr007_fake_smartsolar_150_70_rev3_0xA06C_split_blocks_hex.bin",
     "0xA06C", "HQ2247EP3FN"),
    ("BMV-702", "karioja_bvm702.dump", "0x203", "0x203_bench"),
)  # fmt: skip
MODES = (
    "HEX dropped (before)",
    "HEX decoded, Control off",
    "HEX decoded, Control off, no line cache",
    "HEX decoded, Control on",
)


async def _measure(
    hass: Any, tmp: Path, capture: tuple[str, str, str, str], mode: str
) -> list[Any]:
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from tests.fakes.vedirect_device import PtyDevice, split_records

    name, filename, pid, unique_id = capture
    records = split_records((FIXTURES / "vedirect" / filename).read_bytes())
    device = PtyDevice(tmp / "tty_bench")
    entry = MockConfigEntry(
        domain="victron_venus",
        title=name,
        unique_id=unique_id,
        data={"entry_type": "vedirect", "serial_port": str(device.link), "pid": pid, "labels": []},
        options={"recording": "detailed", "write_interval": 5, "control": mode == MODES[3]},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    source = entry.runtime_data
    if mode == MODES[0]:
        source.hex.feed = lambda _lines: False
    for record in records * 3:  # warm-up: entities are created on the first records
        source._on_data(record)
    await hass.async_block_till_done()
    cold = mode == MODES[2]
    frames_before = source.parser.hex_frames
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        if cold:
            source.hex._async_cache.clear()
        for record in records:
            source._on_data(record)
        n += len(records)
    steady = (time.perf_counter() - start) / n
    frames = source.parser.hex_frames - frames_before
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(entry.entry_id)
    device.unplug()
    return [name, mode, f"{steady * 1e6:.1f}", f"{frames / n:.1f}"]


async def _run(tmp: Path) -> list[list[Any]]:
    from scripts.benchmarks.ha_vedirect import running_hass

    async with running_hass(tmp) as hass:
        return [await _measure(hass, tmp, c, mode) for c in CAPTURES for mode in MODES]


def main() -> None:
    """Print the table."""
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp)
        (config_dir / "custom_components").mkdir()
        rows = asyncio.run(_run(config_dir))
    print("\nVE.Direct TEXT path with and without HEX decoding (µs of event loop per record)\n")
    print(table(["capture", "HEX", "µs per record", "HEX frames per record"], rows))


if __name__ == "__main__":
    main()

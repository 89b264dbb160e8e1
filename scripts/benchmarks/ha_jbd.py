"""JBD batteries through Home Assistant: event-loop cost per poll cycle.

µs per poll cycle, request out → entity states written: the real JBD source (one request in
flight, `JBDExchange` with the real assembler, `parse_frame`, energy integration, the coordinator),
the real entities and the state machine of an in-process Home Assistant (the helpers of
ha_vedirect.py). The link is a loopback: each request is answered at once by a fake BMS replaying
the btsnoop capture's own notification chunks (20 + 16 bytes for 0x03, 15 for 0x04), so only our
own work is timed, not Bluetooth or pty latency. A poll cycle is 0x03 + 0x04 (0x05 is asked once,
before timing). Rows: write interval 0 (every changed entity written on every poll: the worst
case) and the default 5 s, and one battery of a two-battery series bank (the bank recomputes on
every member update).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
import tempfile
import time
from typing import Any

from scripts.benchmarks._common import table
from scripts.benchmarks.ha_vedirect import running_hass

ROUND_SECONDS = 2.0


class LoopbackLink:
    """A JBD link whose BMS answers in the same event-loop turn (see the module docstring)."""

    kind = "loopback"
    connected = True

    def __init__(self, bms: Any) -> None:
        """Answer with `bms` (tests.fakes.jbd_bms.FakeBms)."""
        from custom_components.victron_venus.transport.jbd import JBDExchange

        self.bms = bms
        self.exchange = JBDExchange()

    async def async_open(self, create_task: Callable[[Any], Any]) -> None:
        """Nothing to open."""

    async def async_connect(self) -> None:
        """Always connected."""

    async def async_request(self, frame: bytes, timeout: float) -> bytes:
        """Write `frame`; the fake BMS's chunks are fed back at once."""

        async def write(data: bytes) -> None:
            for chunk in self.bms.answer(data):
                self.exchange.feed(chunk)

        answer: bytes = await self.exchange.request(write, frame, timeout)
        return answer

    async def async_release(self) -> None:
        """Kept."""

    async def async_close(self) -> None:
        """Nothing to close."""

    def diagnostics(self) -> dict[str, Any]:
        """Exchange counters."""
        return self.exchange.counters()


async def _battery(hass: Any, name: str, interval: int) -> Any:
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    entry = MockConfigEntry(
        domain="victron_venus",
        title=f"JBD {name}",
        unique_id=f"jbd_{name}",
        data={"entry_type": "jbd", "transport": "serial", "serial_port": f"/dev/{name}"},
        options={"recording": "detailed", "write_interval": interval, "poll_interval": 3600},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    source = entry.runtime_data
    while source.polls < 1 or source.in_poll:  # the first poll (with 0x05) runs at setup
        await asyncio.sleep(0.01)
    return entry


async def _measure(hass: Any, sources: list[Any]) -> tuple[float, float, int]:
    """(µs per poll cycle, state writes per poll) over ROUND_SECONDS of back-to-back polls."""
    writes = 0

    def count(_event: Any) -> None:
        nonlocal writes
        writes += 1

    for source in sources:  # warm up
        await source.async_poll()
    await hass.async_block_till_done()
    unsub = hass.bus.async_listen("state_changed", count)
    polls, start = 0, time.perf_counter()
    while time.perf_counter() - start < ROUND_SECONDS:
        for source in sources:
            await source.async_poll()
            polls += 1
    elapsed = time.perf_counter() - start
    await hass.async_block_till_done()
    unsub()
    return elapsed / polls * 1e6, writes / polls, polls


async def run(config_dir: Path) -> list[list[object]]:
    """All rows, in one in-process Home Assistant."""
    from homeassistant.helpers import entity_registry as er

    from custom_components.victron_venus.sources import jbd as source_module
    from tests.fakes.jbd_bms import TRANSCRIPT_V13, FakeBms, model_answer, transcript

    model = {source_module.REQUEST_HARDWARE: [model_answer()]}  # the captures never ask 0x05
    links = {
        "fore": lambda: LoopbackLink(FakeBms(transcript(), extra=model)),
        "aft": lambda: LoopbackLink(FakeBms(transcript(TRANSCRIPT_V13), extra=model)),
    }
    source_module.make_link = lambda hass, entry: links[entry.data["serial_port"][5:]]()  # type: ignore[assignment,misc]
    rows: list[list[object]] = []
    async with running_hass(config_dir) as hass:
        for interval in (0, 5):
            entry = await _battery(hass, "fore", interval)
            us, writes, polls = await _measure(hass, [entry.runtime_data])
            entities = len(er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id))
            rows.append([f"one battery, write interval {interval} s", f"{us:.0f}",
                         f"{writes:.2f}", entities, polls])  # fmt: skip
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.config_entries.async_remove(entry.entry_id)

        from pytest_homeassistant_custom_component.common import MockConfigEntry

        fore = await _battery(hass, "fore", 0)
        aft = await _battery(hass, "aft", 0)
        bank = MockConfigEntry(
            domain="victron_venus",
            title="Bank",
            unique_id="bank_bench",
            data={
                "entry_type": "bank",
                "members": [fore.entry_id, aft.entry_id],
                "wiring": "series",
            },
            options={"recording": "detailed", "write_interval": 0},
        )
        bank.add_to_hass(hass)
        assert await hass.config_entries.async_setup(bank.entry_id)
        await hass.async_block_till_done()
        us, writes, polls = await _measure(hass, [fore.runtime_data, aft.runtime_data])
        entities = sum(
            len(er.async_entries_for_config_entry(er.async_get(hass), e.entry_id))
            for e in (fore, aft, bank)
        )
        rows.append(["two batteries + series bank, interval 0 s", f"{us:.0f}", f"{writes:.2f}",
                     entities, polls])  # fmt: skip
    return rows


def main() -> None:
    """Print the table."""
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp)
        (config_dir / "custom_components").mkdir()
        rows = asyncio.run(run(config_dir))
    print("\nHome Assistant event-loop cost per JBD poll cycle (0x03 + 0x04, btsnoop captures)\n")
    print(table(["scenario", "µs per poll", "state writes per poll", "entities", "polls timed"],
                rows))  # fmt: skip


if __name__ == "__main__":
    main()

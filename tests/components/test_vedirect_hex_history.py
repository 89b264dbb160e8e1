"""An MPPT's 30-day HEX history as long-term statistics, with the real recorder (issue 11 §2).

The fake BlueSolar 75/15 answers 0x1050 (today) with the capture's own record and the 30 days
before it with the fake's documented made-up days; the statistic's sums end at the device's total
yield (TEXT H19 8272 = 82.72 kWh, constant in the capture)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
import time
from typing import Any

from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.victron_venus.const import CONF_ENTRY_TYPE, CONF_SERIAL_PORT, DOMAIN
from custom_components.victron_venus.sources import vedirect_hex as source_hex
from tests.components.conftest import capture
from tests.fakes.vedirect_device import PtyDevice, VEDirectReplay


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder is resolved before `hass` (ha_testing.md §3.2), then the integration."""


@pytest.fixture
async def bluesolar(tmp_path: Any) -> AsyncIterator[tuple[PtyDevice, VEDirectReplay]]:
    """The BlueSolar capture on a real pty, answering HEX."""
    device = PtyDevice(tmp_path / "tty_bluesolar")
    replay = VEDirectReplay(device, capture("bluesolar"), interval=0.05, hex=True)
    task = asyncio.get_running_loop().create_task(replay.run())
    yield device, replay
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    device.unplug()


def _expected_yield(days_ago: int) -> float:
    """Day 0: the capture's 0x1050 record (0.00 kWh); older: the fake's made-up days."""
    return 0.0 if days_ago == 0 else (20 + 5 * ((7 * days_ago) % 11)) / 100


async def _setup(hass: HomeAssistant, device: PtyDevice, control: bool) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="BlueSolar",
        unique_id="HQ1411MYIKN",
        data={CONF_ENTRY_TYPE: "vedirect", CONF_SERIAL_PORT: str(device.link), "pid": "0xA042"},
        options={"write_interval": 0, "recording": "detailed", "control": control},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _rows(hass: HomeAssistant, statistic_id: str) -> list[dict[str, Any]]:
    start = dt_util.now() - timedelta(days=40)

    def read() -> list[dict[str, Any]]:
        stats = statistics_during_period(
            hass, start, None, {statistic_id}, "hour", None, {"state", "sum"}
        )
        return [dict(row) for row in stats.get(statistic_id, [])]

    return await hass.async_add_executor_job(read)


async def test_history_imported_as_statistics(
    hass: HomeAssistant, bluesolar: tuple[PtyDevice, VEDirectReplay]
) -> None:
    """31 days, one row per day at local midnight: state = the day's yield, sum = the total at
    the end of that day (the last one 82.72 kWh, the device's H19)."""
    device, _replay = bluesolar
    entry = await _setup(hass, device, control=True)
    source = entry.runtime_data
    await _wait_for(lambda: source.hex.reads == 1)
    await async_wait_recording_done(hass)
    statistic_id = source_hex.statistic_id("HQ1411MYIKN")
    assert statistic_id == "victron_venus:hq1411myikn_solar_yield"
    rows = await _rows(hass, statistic_id)
    today = dt_util.now().date()
    expected_starts = [
        dt_util.start_of_local_day(today - timedelta(days=ago)).timestamp()
        for ago in range(30, -1, -1)
    ]
    assert [row["start"] for row in rows] == expected_starts
    assert [row["state"] for row in rows] == [_expected_yield(ago) for ago in range(30, -1, -1)]
    total = 82.72
    sums = [
        round(total - sum(_expected_yield(j) for j in range(ago)), 2) for ago in range(30, -1, -1)
    ]
    assert [round(row["sum"], 2) for row in rows] == sums
    assert rows[-1]["sum"] == pytest.approx(82.72)
    assert sum(row["state"] for row in rows) == pytest.approx(
        sum(_expected_yield(d) for d in range(31))
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_no_history_with_control_off(
    hass: HomeAssistant, bluesolar: tuple[PtyDevice, VEDirectReplay]
) -> None:
    """Control off: nothing is asked, so no statistic appears and no byte reaches the device."""
    device, replay = bluesolar
    entry = await _setup(hass, device, control=False)
    await _wait_for(lambda: replay.sent >= 10)
    await async_wait_recording_done(hass)
    assert await _rows(hass, source_hex.statistic_id("HQ1411MYIKN")) == []
    assert replay.hex is not None
    assert replay.hex.bytes_received == 0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_history_sums_end_at_the_system_yield(
    hass: HomeAssistant, bluesolar: tuple[PtyDevice, VEDirectReplay]
) -> None:
    """A device that answers the history total (0x104F): the sums end at its system yield (which
    a user cannot reset), not at H19 (the BlueSolar capture itself sends no 0x104F)."""
    device, replay = bluesolar
    assert replay.hex is not None
    total = bytearray(34)
    total[6:10] = (5000).to_bytes(4, "little")  # user yield 50.00 kWh
    total[10:14] = (12345).to_bytes(4, "little")  # system yield 123.45 kWh
    replay.hex.registers[0x104F] = bytes(total)
    entry = await _setup(hass, device, control=True)
    source = entry.runtime_data
    await _wait_for(lambda: source.hex.reads == 1)
    await async_wait_recording_done(hass)
    rows = await _rows(hass, source_hex.statistic_id("HQ1411MYIKN"))
    assert len(rows) == 31
    assert rows[-1]["sum"] == pytest.approx(123.45)
    assert rows[0]["sum"] == pytest.approx(
        round(123.45 - sum(_expected_yield(d) for d in range(30)), 2)
    )
    assert await hass.config_entries.async_unload(entry.entry_id)

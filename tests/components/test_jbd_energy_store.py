"""A JBD battery's energy counters reach the disk while polling runs (issue 8 §2).

Home Assistant's `Store.async_delay_save` pushes a pending write further out on every call; called
on every poll (10 s) with a 30 s delay it never wrote until the final write at shutdown, so a
power cut lost every kWh counted since the start. Here the source's own poll loop polls the
battery (a real pty, a fake BMS answering with a UART capture) every 10 s for two minutes of
simulated time; Home Assistant is then "killed" (no unload, so no final write) and what is on
disk must be at most one save interval behind the live counters.

Simulated time: the event loop's clock (`hass.loop.time`, which the Store's timer and the poll
loop's sleep run on) is the real monotonic clock plus an offset the test moves forward by 10 s
per step; `async_fire_time_changed` then runs what is due. The energy integrator runs on the
offset alone, so the integrated seconds are exact.
"""

from __future__ import annotations

from pathlib import Path
import time
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.sources.jbd import ENERGY_SAVE_DELAY, JBDSource
from tests.components.jbd_helpers import fast, serving, setup_serial, uart_bms, wait_for
from tests.fakes import jbd_bms as fake

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

#: aiobmsble's frame: 15.6 V, -2.87 A (W, negative = discharging)
POWER_W = 15.6 * -2.87
POLL_S = 10


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)


def _wh(seconds: float) -> float:
    """Discharged Wh after `seconds` at POWER_W."""
    return -POWER_W * seconds / 3600


async def test_energy_counters_are_on_disk_within_one_save_interval(
    hass: HomeAssistant,
    tmp_path: Path,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Polls at 0, 10, …, 120 s of simulated time. The first poll (on the real clock) only starts
    the integration, so 110 s are integrated (10 → 120 s). Each save window opens with the first
    change after a write and writes 30 s later, whatever polls come meanwhile: at 30, 60, 90 and
    120 s, each holding the counters of the poll before (10, 40, 70, 100 s integrated). After
    the "power cut" the disk is 10 s behind the live counters, within ENERGY_SAVE_DELAY."""
    assert ENERGY_SAVE_DELAY == 30.0
    offset = [0.0]
    monkeypatch.setattr(hass.loop, "time", lambda: time.monotonic() + offset[0])
    bms = uart_bms(fake.AIOBMSBLE_NOTE)
    async with serving(tmp_path, bms) as device:
        entry = await setup_serial(hass, device.link, options={"poll_interval": POLL_S})
        source = entry.runtime_data
        assert isinstance(source, JBDSource)
        await wait_for(lambda: source.good_polls == 1 and not source.in_poll)
        source.clock = lambda: offset[0]  # a different clock: the next sample starts anew
        key = f"{DOMAIN}.jbd_energy.{entry.entry_id}"
        saved: list[tuple[float, float]] = []  # (simulated s, discharged Wh on disk)
        for step in range(1, 13):
            offset[0] = step * POLL_S
            async_fire_time_changed(hass)  # the Store's timer (if due), then the poll's sleep

            def polled(n: int = step) -> bool:
                return source.good_polls == n + 1 and not source.in_poll

            await wait_for(polled)
            await hass.async_block_till_done()
            stored = hass_storage.get(key)
            if stored is not None and (
                not saved or stored["data"]["discharged_wh"] != saved[-1][1]
            ):
                saved.append((offset[0], stored["data"]["discharged_wh"]))
        assert source.energy.discharged_wh == pytest.approx(_wh(110))
        assert source.energy.charged_wh == 0
        assert [at for at, _ in saved] == [30, 60, 90, 120]
        assert [wh for _, wh in saved] == pytest.approx([_wh(10), _wh(40), _wh(70), _wh(100)])
        # power cut here: no unload, no final write. The disk is one poll behind.
        on_disk = hass_storage[key]["data"]
        assert on_disk == {"charged_wh": 0, "discharged_wh": pytest.approx(_wh(100))}
        lag_s = (source.energy.discharged_wh - on_disk["discharged_wh"]) / -POWER_W * 3600
        assert lag_s == pytest.approx(10)
        assert lag_s <= ENERGY_SAVE_DELAY
        assert source.diagnostics()["energy"]["saves"] == 4
        await hass.config_entries.async_unload(entry.entry_id)

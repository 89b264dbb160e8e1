"""The battery sources' common part (sources/battery_poll.py, issue 9): poll bookkeeping, its log
records and the diagnostics keys are the same for a JBD and a BLE battery as they were when each
source kept its own books.

A BLE battery (real aiobmsble ANT family on the fake radio) that stops answering: the first
failed poll is one warning, the next ones debug lines, the first answer after them one info line,
all under the BLE source's own logger name, `last_error` with the error's repr. A JBD battery
on a real pty: its diagnostics keep every key they had.
"""

from __future__ import annotations

import logging
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest

from custom_components.victron_venus.sources.ble_battery import BLEBatterySource
from custom_components.victron_venus.sources.jbd import JBDSource
from tests.components import jbd_helpers
from tests.components.ble_battery_helpers import advertise, fast, no_answer_soon, setup_battery
from tests.components.jbd_helpers import wait_for
from tests.fakes import ble_bms

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

BLE_LOGGER = "custom_components.victron_venus.sources.ble_battery"

#: the keys every battery source's diagnostics had before the common part (besides its own)
POLL_KEYS = {
    "devices",
    "poll_interval",
    "polls",
    "good_polls",
    "errors",
    "last_error",
    "energy",
}
ENERGY_KEYS = {"charged_wh", "discharged_wh", "gaps", "saves"}


async def test_ble_battery_logs_a_silence_once_and_the_answer_once(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two failed polls: one warning (then debug), `last_error` the repr; one answer: one info."""
    fast(monkeypatch)
    no_answer_soon(monkeypatch)
    family = "ant_bms"
    address = advertise(hass, family)
    with ble_bms.registered(address, ble_bms.FamilyBms(family)) as bms:
        entry = await setup_battery(hass, family, options={"poll_interval": 3600})
        source = entry.runtime_data
        assert isinstance(source, BLEBatterySource)
        await wait_for(lambda: source.good_polls >= 1)
        caplog.clear()
        caplog.set_level(logging.DEBUG, logger=BLE_LOGGER)
        bms.silent = True
        assert not await source.async_poll()
        assert not await source.async_poll()
        assert source.errors["no_response"] == 2
        assert source.last_error == "no_response: TimeoutError()"
        bms.silent = False
        assert await source.async_poll()
        assert source.good_polls == 2
        ours = [
            (r.levelname, r.getMessage())
            for r in caplog.records
            if r.name == BLE_LOGGER and "Boat:" in r.getMessage()
        ]
        assert ours == [
            (
                "WARNING",
                "Boat: the BMS does not answer (no_response: TimeoutError()); "
                "retrying every 3600 s",
            ),
            ("DEBUG", "Boat: still failing: no_response: TimeoutError()"),
            ("INFO", "Boat: the BMS answers again"),
        ]
        diagnostics = source.diagnostics()
        assert set(diagnostics) == POLL_KEYS | {
            "family",
            "library",
            "keep_connection",
            "last_sample",
        }
        assert set(diagnostics["energy"]) == ENERGY_KEYS
        assert diagnostics["poll_interval"] == 3600.0
        assert diagnostics["polls"] == 4
        assert diagnostics["good_polls"] == 2
        assert diagnostics["errors"] == {"no_response": 2}
        assert diagnostics["last_error"] == "no_response: TimeoutError()"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_jbd_battery_diagnostics_keep_their_keys(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A JBD battery on a pty: the poll keys and its own (link, model, control)."""
    jbd_helpers.fast(monkeypatch)
    async with jbd_helpers.serving(tmp_path, jbd_helpers.uart_bms()) as device:
        entry = await jbd_helpers.setup_serial(hass, device.link, options={"poll_interval": 3600})
        source = entry.runtime_data
        assert isinstance(source, JBDSource)
        await wait_for(lambda: source.good_polls == 1 and not source.in_poll)
        diagnostics = source.diagnostics()
        assert set(diagnostics) == POLL_KEYS | {"link", "model", "control"}
        assert set(diagnostics["energy"]) == ENERGY_KEYS
        assert diagnostics["poll_interval"] == 3600.0
        assert diagnostics["polls"] == 1
        assert diagnostics["good_polls"] == 1
        assert diagnostics["errors"] == {}
        assert diagnostics["last_error"] is None
        assert await hass.config_entries.async_unload(entry.entry_id)

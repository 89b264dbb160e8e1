"""The device model of a JBD battery whose BMS does not answer 0x05 (issue 12 §1): "JBD BMS",
never the firmware; the hardware string replaces it when the BMS answers 0x05 later."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.sources import jbd as source_module
from custom_components.victron_venus.sources.jbd import REQUEST_HARDWARE, JBDSource
from tests.components.jbd_helpers import (
    ADDRESS,
    advertise,
    fast,
    serving,
    setup_ble,
    setup_serial,
    wait_for,
)
from tests.fakes import jbd_bms as fake

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

MODEL = "JBD-SP04S034-L4S-200A-B-U"


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)


def _device(hass: HomeAssistant, identifier: str, entry_id: str) -> dr.DeviceEntry:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, identifier), entry_id)
    assert device is not None
    return device


async def test_ble_battery_without_0x05_is_a_jbd_bms(hass: HomeAssistant) -> None:
    """The btsnoop BMS never asked 0x05 (no answer): model "JBD BMS", firmware apart."""
    bms = fake.FakeBms(fake.transcript())  # no 0x05 answer at all
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass)
        source = entry.runtime_data
        assert isinstance(source, JBDSource)
        await wait_for(lambda: source.polls >= source_module.HARDWARE_ATTEMPTS + 1)
        device = _device(hass, ADDRESS, entry.entry_id)
        assert device.model == "JBD BMS"
        assert device.sw_version == "8.0"  # the capture's 0x03 software byte 0x80
        assert bms.requests.count(REQUEST_HARDWARE) == source_module.HARDWARE_ATTEMPTS
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_hardware_string_replaces_the_fallback_when_it_comes(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A UART BMS that ignores the first 0x05 and answers the second: "JBD BMS", then its
    hardware string."""
    answers = fake.uart_answers()
    hardware = answers.pop(REQUEST_HARDWARE)
    bms = fake.FakeBms(answers)
    async with serving(tmp_path, bms) as device:
        entry = await setup_serial(hass, device.link, options={"poll_interval": 60})
        source = entry.runtime_data
        assert isinstance(source, JBDSource)
        await wait_for(lambda: source.polls >= 1 and not source.in_poll)
        uid = f"jbd_{device.link}"
        assert _device(hass, uid, entry.entry_id).model == "JBD BMS"
        bms._answers[REQUEST_HARDWARE] = hardware
        assert await source.async_poll()
        assert _device(hass, uid, entry.entry_id).model == MODEL
        assert await hass.config_entries.async_unload(entry.entry_id)

"""A Bluetooth battery of another brand for scripts/develop: a fake Bluetooth proxy in HA.

Development only (scripts/develop links this folder into its config as the custom integration
`victron_venus_ble_sim` and names it in configuration.yaml). It registers a remote Bluetooth
scanner with Home Assistant's bluetooth integration, as an ESPHome Bluetooth proxy does, that
hears one battery: the JK BMS of aiobmsble's own test frames (tests/fakes/aiobmsble_frames.py),
advertising every 5 s. Connections to it go through the scanner's connector to
`tests.fakes.ble_bms.FakeFamilyBackend`, which answers the library's requests with those frames.
So Home Assistant's own Bluetooth stack, aiobmsble and our Bluetooth battery entry run unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import sys
import time
from typing import Any

from habluetooth import BaseHaRemoteScanner, HaBluetoothConnector
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

DOMAIN = "victron_venus_ble_sim"
FAMILY = "jikong_bms"
SOURCE = "victron-venus-sim-proxy"
ADVERTISE_EVERY = 5.0


class SimulatedProxy(BaseHaRemoteScanner):
    """A remote scanner that hears the simulated battery (see the module docstring)."""

    def advertise(self, info: Any) -> None:
        """Report one advertisement of the battery."""
        self._async_on_advertisement(
            info.address,
            info.rssi,
            info.name,
            list(info.service_uuids),
            dict(info.service_data),
            dict(info.manufacturer_data),
            None,
            {},
            time.monotonic(),
        )


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the simulated proxy and its battery."""
    repo = Path(__file__).resolve().parents[3]  # tests/fakes/ble_sim_component -> the repo
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    ble_bms = await hass.async_add_executor_job(_import_fakes)
    address = ble_bms.address_of(FAMILY)
    ble_bms.FakeFamilyBackend.peripherals[address] = ble_bms.FamilyBms(FAMILY)
    connector = HaBluetoothConnector(
        client=ble_bms.FakeFamilyBackend, source=SOURCE, can_connect=lambda: True
    )
    scanner = SimulatedProxy(SOURCE, SOURCE, connector, True)
    scanner.async_setup()
    bluetooth.async_register_scanner(hass, scanner, connection_slots=3)
    info = ble_bms.advertisement(FAMILY)
    scanner.advertise(info)
    async_track_time_interval(
        hass, lambda _now: scanner.advertise(info), timedelta(seconds=ADVERTISE_EVERY)
    )
    return True


def _import_fakes() -> Any:
    from tests.fakes import ble_bms  # in the executor, once the repo is on sys.path

    return ble_bms

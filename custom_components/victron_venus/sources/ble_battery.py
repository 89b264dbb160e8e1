"""Bluetooth battery source: one BMS of any family aiobmsble reads (Daly, JK, ANT, Seplos, ...).

JBD batteries keep their own entry type (sources/jbd.py: our own protocol, MOSFET control, UART);
every other BMS family of the aiobmsble library (PyPI, Apache-2.0) is read here. The library
owns the family's GATT protocol; this source owns what makes our battery entries what they are:

* Polling every `poll_interval` seconds (option, default 10): `BaseBMS.async_update()` →
  `sample_values` (the same value keys as a JBD battery: voltage V, current A, power W, soc %,
  remaining/nominal capacity Ah, cycles, cells V and every `cell_voltage_<n>`, min/max/average/
  delta, `temperature_<n>` °C, FETs, balancing, the library's problem flag and code, ...) → the
  coordinator. Every cell is its own entity (descriptions/ble_battery.py).
* Charged and discharged energy integrated at full poll rate from the BMS's power (W, positive =
  charging; `battery.energy.EnergyIntegrator`) and kept in a Store per entry
  (`.storage/victron_venus.ble_battery_energy.<entry_id>`), saved at most 30 s after a change
  (`sources.battery_poll.EnergySaver`, as for a JBD battery) and at unload, removed with the
  entry: kWh counters for the Energy dashboard out of the box.
* Faults: a poll that fails (not heard, connect failed, no answer, a disconnect in the middle of
  an answer, bad data, a password the BMS rejects) is counted by kind in `errors`, logged once
  when the battery stops answering and once when it answers again; the next poll reconnects.
  Nothing escapes the poll loop; freshness makes the entities unavailable. A rejected password
  starts Home Assistant's reauth flow once.
* The running source registers its coordinator in the battery registry, so a bank follows it.

The poll loop, the poll and error bookkeeping, the energy Store, the registry and the reauth start
are the battery sources' common part (`sources.battery_poll.PolledBatterySource`).

The connection: the `BLEDevice` comes from Home Assistant's bluetooth integration (the best
connectable adapter or ESPHome proxy that hears the battery), the library connects with
bleak-retry-connector. aiobmsble imported `bleak.BleakClient` by name when it was loaded;
`follow_ha_client()` points it at Home Assistant's wrapper (which routes through proxies) once the
bluetooth integration has installed it, the way transport.ble does for JBD.

Families and discovery: `FAMILIES` maps the library's module names (``daly_bms``) to its BMS
classes; `family_of(advertisement, address)` is the library's own advertisement matching, in a
fixed order. The manifest's `bluetooth` matchers are generated from the same lists
(scripts/gen_bluetooth_matchers.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
from dataclasses import dataclass, field
import logging
import math
from typing import Any, Final

from aiobmsble import BMSConfig, BMSInfo, BMSSample, TempSensor, basebms as _basebms
from aiobmsble.basebms import BaseBMS
from aiobmsble.utils import bms_supported, load_bms_plugins
import bleak
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from homeassistant.components import bluetooth
from homeassistant.const import CONF_ADDRESS, CONF_PASSWORD, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from ..const import DOMAIN
from ..coordinator import VictronConfigEntry
from ..descriptions.ble_battery import BINARY_SENSORS, SENSORS
from ..protocol.jbd import CellVoltages
from .battery_poll import DATA_CELLS, DATA_SENSORS, PolledBatterySource, cell_values
from .errors import BadData, CannotConnect, InvalidAuth, NoAnswer, NotInRange, ProbeError
from .jbd import CONF_KEEP_CONNECTION

__all__ = [
    "FAMILIES",
    "JBD_FAMILY",
    "BLEBatterySource",
    "ProbeResult",
    "accepts_password",
    "async_probe",
    "family_label",
    "family_of",
    "follow_ha_client",
    "probe_failure",
    "sample_values",
    "supports_control",
]

_LOGGER = logging.getLogger(__name__)

#: entry.data keys
CONF_FAMILY: Final = "family"  # the aiobmsble module name, e.g. "daly_bms"
DATA_MODEL: Final = "model"
DATA_MANUFACTURER: Final = "manufacturer"
DATA_SOFTWARE: Final = "sw_version"
DATA_HARDWARE: Final = "hw_version"
DATA_SERIAL: Final = "serial_number"

#: The library's JBD family: JBD batteries are our own entry type (flows/jbd.py), never this one.
JBD_FAMILY: Final = "jbd_bms"
#: Library modules that are no battery (its test double).
NOT_BATTERIES: Final = frozenset({"dummy_bms"})

#: seconds one poll (connect, login, every request of the family) may take; the probe's limit
#: (module attributes: tests shorten them)
POLL_TIMEOUT = 30.0
PROBE_TIMEOUT = 30.0
#: at most this many seconds after a change the energy counters are on disk
ENERGY_SAVE_DELAY = 30.0

#: Temperature sensor kinds that measure the battery (cells, pack); the bank's charge limits
#: derate on these. MOSFET, PCB, balancer and heater sensors still get their own entities.
BATTERY_TEMPERATURES: Final = frozenset(
    {
        TempSensor.T.GENERIC,
        TempSensor.T.CELL,
        TempSensor.T.CELL_MAX,
        TempSensor.T.CELL_MIN,
    }
)


def _families() -> dict[str, type[BaseBMS]]:
    plugins = sorted(load_bms_plugins(), key=lambda module: module.__name__)
    families: dict[str, type[BaseBMS]] = {}
    for module in plugins:
        name = module.__name__.rsplit(".", 1)[-1]
        if name not in NOT_BATTERIES:
            families[name] = module.BMS
    return families


#: Every BMS family of the library: module name -> BMS class, in name order (imported with the
#: integration, in Home Assistant's executor).
FAMILIES: Final[dict[str, type[BaseBMS]]] = _families()

#: What aiobmsble was imported with (see `follow_ha_client`).
_IMPORTED_CLIENT: Final = _basebms.BleakClient


def follow_ha_client() -> None:
    """Point aiobmsble at Home Assistant's BleakClient wrapper once bluetooth installed it.

    The library looks `BleakClient` up in its own module when it connects; Home Assistant's
    bluetooth integration replaces `bleak.BleakClient` by a wrapper that picks the adapter or
    proxy. A test that put its own fake client there is left alone.
    """
    if _basebms.BleakClient is _IMPORTED_CLIENT and bleak.BleakClient is not _IMPORTED_CLIENT:
        _basebms.BleakClient = bleak.BleakClient


def family_of(advertisement: AdvertisementData, address: str) -> str | None:
    """The library family whose advertisement matchers match, or None (first in name order).

    `address` is the Bluetooth address (some families match on its OUI). The library's own
    matching (`aiobmsble.utils.bms_supported`), without its executor round trip.
    """
    for name, cls in FAMILIES.items():
        if bms_supported(cls, advertisement, address):
            return name
    return None


def family_label(family: str) -> str:
    """'Daly smart BMS': the family's manufacturer and model as the library names them."""
    info = FAMILIES[family].INFO
    return f"{info.get('manufacturer', '')} {info.get('model', '')}".strip()


def accepts_password(family: str) -> bool:
    """Whether the family's BMS takes a password (the library's `accept_secret`)."""
    return bool(FAMILIES[family].accept_secret)


def supports_control(family: str) -> bool:
    """Whether the library can write to this family's BMS (FETs, balancer).

    aiobmsble (0.31) reads only (`async_update`, `device_info`): no family has a write API, so
    no BLE battery offers a control option. The one place to change when the library adds one.
    """
    return False


def _number(value: Any) -> float | None:
    """A finite number, or None (the library leaves a field out or sends NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


#: BMSSample key -> our value key (numbers, SI units already)
_NUMBERS: Final = {
    "voltage": "voltage",
    "current": "current",
    "power": "power",
    "battery_level": "soc",
    "cycle_charge": "remaining_capacity",
    "design_capacity": "nominal_capacity",
    "cycles": "cycles",
    "battery_health": "state_of_health",
    "runtime": "runtime",
    "cycle_capacity": "stored_energy",
    "balance_current": "balance_current",
    "heater_current": "heater_current",
    "pack_count": "pack_count",
}
#: BMSSample key -> our value key (on/off)
_FLAGS: Final = {
    "chrg_mosfet": "charge_fet",
    "dischrg_mosfet": "discharge_fet",
    "heater": "heater",
    "battery_charging": "charging",
    "problem": "problem",
}


def sample_values(sample: Mapping[str, Any]) -> dict[str, Any]:
    """Our coordinator values from one `BMSSample` (keys = description keys; SI units).

    What the family does not report is left out. Cells (V, cell 1 first) give `cells`,
    `cell_voltage_<n>` and min/max/average/delta with their cell numbers (as for a JBD battery);
    temperatures (°C) give `temperature_<n>` for every sensor and `temperatures` for those that
    measure the battery (`BATTERY_TEMPERATURES`). `balancing` is True when the balancer is on
    (the library gives a flag or a bit mask), `problem_code` the BMS's own code (0 = none).
    """
    data: dict[str, Any] = {}
    for source, key in _NUMBERS.items():
        if (value := _number(sample.get(source))) is not None:
            data[key] = value
    if "power" in data:
        data["power"] = round(data["power"], 2)
    for source, key in _FLAGS.items():
        if (value := sample.get(source)) is not None:
            data[key] = bool(value)
    if (balancer := sample.get("balancer")) is not None:
        data["balancing"] = bool(balancer)
    if (code := sample.get("problem_code")) is not None:
        data["problem_code"] = int(code)
    cells = [v for v in sample.get("cell_voltages") or () if _number(v) is not None]
    if cells:
        data.update(cell_values(CellVoltages([round(float(v), 4) for v in cells])))
    if (count := _number(sample.get("cell_count"))) is not None:
        data["cell_count"] = int(count)
    elif cells:
        data["cell_count"] = len(cells)
    temperatures: list[TempSensor] = [
        t for t in sample.get("temp_values") or () if _number(float(t)) is not None
    ]
    for index, sensor in enumerate(temperatures, start=1):
        data[f"temperature_{index}"] = round(float(sensor), 1)
    if temperatures:
        data["temperatures"] = [
            round(float(t), 1)
            for t in temperatures
            if getattr(t, "type", TempSensor.T.GENERIC) in BATTERY_TEMPERATURES
        ]
    return data


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the config flow learns from a battery: its values and the BMS's device info."""

    family: str
    values: dict[str, Any]
    info: BMSInfo = field(default_factory=BMSInfo)

    def entry_data(self) -> dict[str, Any]:
        """entry.data fields from the probe (family, model, versions, cell and sensor counts)."""
        static = FAMILIES[self.family].INFO
        data: dict[str, Any] = {
            CONF_FAMILY: self.family,
            DATA_MANUFACTURER: self.info.get("manufacturer") or static.get("manufacturer"),
            DATA_MODEL: self.info.get("model") or static.get("model"),
            DATA_SOFTWARE: self.info.get("sw_version") or self.info.get("fw_version"),
            DATA_HARDWARE: self.info.get("hw_version"),
            DATA_SERIAL: self.info.get("serial_number"),
            DATA_CELLS: len(self.values.get("cells") or ()),
            DATA_SENSORS: sum(1 for key in self.values if key.startswith("temperature_")),
        }
        return data


def probe_failure(err: BaseException, password: str | None = None) -> ProbeError:
    """The probe error (form error key) for what reading a battery raised.

    A password the BMS rejects (`PermissionError`, `ConnectionRefusedError`: JBD, 123SmartBMS)
    is `InvalidAuth`; no answer in time is `NoAnswer` (some BMSes, ANT for one, ignore every
    request after a wrong password, so the message says to check it); an answer the family's
    parser refuses (`ValueError`) is `BadData`; anything else (bleak errors, a lost connection)
    is `CannotConnect`.
    """
    if isinstance(err, ProbeError):
        return err
    if isinstance(err, (PermissionError, ConnectionRefusedError)):
        return InvalidAuth(str(err) or "password rejected")
    if isinstance(err, TimeoutError):
        return NoAnswer("no answer" + (" (check the password)" if password else ""))
    if isinstance(err, ValueError):
        return BadData(str(err))
    return CannotConnect(str(err) or type(err).__name__)


def _ble_device(hass: HomeAssistant, address: str) -> BLEDevice | None:
    return bluetooth.async_ble_device_from_address(hass, address, connectable=True)


def _make_bms(family: str, device: BLEDevice, *, keep: bool, password: str | None) -> BaseBMS:
    follow_ha_client()
    return FAMILIES[family](
        device,
        BMSConfig(keep_alive=keep, secret=password or ""),
        logger_name=f"{__name__}.{family}",
    )


async def _disconnect(bms: BaseBMS) -> None:
    with contextlib.suppress(Exception):
        await bms.disconnect()


async def async_probe(
    hass: HomeAssistant, address: str, family: str, password: str | None
) -> ProbeResult:
    """Read the battery at `address` once with the `family`'s protocol, then disconnect.

    Raises a `ProbeError`: `NotInRange` (no connectable adapter or proxy hears it), or what
    `probe_failure` makes of the library's exception; `BadData` when the answer has no voltage.
    """
    device = _ble_device(hass, address)
    if device is None:
        raise NotInRange(f"{address} is not advertising (out of range?)")
    bms = _make_bms(family, device, keep=True, password=password)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            sample = await bms.async_update()
            try:
                info = await bms.device_info()
            except (TimeoutError, BleakError, ValueError, EOFError, ConnectionError) as err:
                _LOGGER.debug("%s: no device info: %r", address, err)
                info = BMSInfo()
    except Exception as err:  # the library's and bleak's exceptions, mapped for the form
        _LOGGER.debug("Probing %s (%s) failed: %r", address, family, err)
        raise probe_failure(err, password) from err
    finally:
        await _disconnect(bms)
    values = sample_values(sample)
    if "voltage" not in values:
        raise BadData("the BMS's answer has no voltage")
    return ProbeResult(family, values, info)


class BLEBatterySource(PolledBatterySource):
    """One aiobmsble battery: polls it, integrates energy, pushes its values (module docstring)."""

    platforms = (Platform.SENSOR, Platform.BINARY_SENSOR)
    tables = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
    }
    energy_key = "ble_battery_energy"
    task_label = "BLE battery"
    logger = _LOGGER

    def __init__(self, hass: HomeAssistant, entry: VictronConfigEntry) -> None:
        """Prepare the source of `entry`; nothing runs before async_start."""
        super().__init__(hass, entry, ENERGY_SAVE_DELAY)
        assert entry.unique_id is not None
        data = entry.data
        self.address: str = data[CONF_ADDRESS]
        self.family: str = data[CONF_FAMILY]
        self.keep_connection = bool(entry.options.get(CONF_KEEP_CONNECTION, True))
        self.password: str | None = entry.options.get(CONF_PASSWORD) or None
        device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.unique_id)},
            connections={(dr.CONNECTION_BLUETOOTH, self.address)},
            manufacturer=data.get(DATA_MANUFACTURER),
            model=data.get(DATA_MODEL),
            name=entry.title,
            sw_version=data.get(DATA_SOFTWARE),
            hw_version=data.get(DATA_HARDWARE),
            serial_number=data.get(DATA_SERIAL),
        )
        # a poll may take its time limit
        self.coordinator = self._make_coordinator(device_info, POLL_TIMEOUT)
        self.bms: BaseBMS | None = None
        self._device: BLEDevice | None = None
        self.last_sample: dict[str, Any] | None = None

    async def async_start(self) -> None:
        """Restore the energy counters; ConfigEntryNotReady while nobody hears the battery."""
        if self.family not in FAMILIES:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="ble_battery_unknown_family",
                translation_placeholders={"name": self.entry.title, "family": self.family},
            )
        await self._restore_energy()
        if not bluetooth.async_address_present(self.hass, self.address, connectable=True):
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="ble_battery_not_advertising",
                translation_placeholders={"name": self.entry.title, "address": self.address},
            )
        self._start_polling()

    async def _async_close(self) -> None:
        """Disconnect the BMS (unload)."""
        if self.bms is not None:
            await _disconnect(self.bms)

    def _bms(self, device: BLEDevice) -> BaseBMS:
        """The BMS object; a new one when the battery is heard through another adapter/proxy
        and the old one is not connected."""
        if self.bms is None or (device is not self._device and not self.bms.is_connected):
            self.bms = _make_bms(
                self.family, device, keep=self.keep_connection, password=self.password
            )
            self._device = device
        return self.bms

    async def async_poll(self) -> bool:
        """One poll: read the BMS, integrate energy, push. True when it answered."""
        self.polls += 1
        device = _ble_device(self.hass, self.address)
        if device is None:
            self._failed("not_in_range", NotInRange(f"{self.address} is not heard"))
            return False
        bms = self._bms(device)
        try:
            async with asyncio.timeout(POLL_TIMEOUT):
                sample: BMSSample = await bms.async_update()
        except (PermissionError, ConnectionRefusedError) as err:
            self._failed("auth", err)
            self._start_reauth()
            return False
        except TimeoutError as err:
            self._failed("no_response", err)
            await _disconnect(bms)
            return False
        except ValueError as err:
            self._failed("bad_data", err)
            return False
        except (BleakError, EOFError, ConnectionError) as err:
            self._failed("link", err)
            await _disconnect(bms)
            return False
        except Exception as err:  # a bug must not end the loop: count it, log it once
            self._failed("unexpected", err, exc_info=True)
            await _disconnect(bms)
            return False
        values = sample_values(sample)
        if "voltage" not in values:
            self._failed("bad_data", ValueError("no voltage in the answer"))
            return False
        self.last_sample = dict(sample)
        if (power := values.get("power")) is not None:
            self._integrate(power)
        data: dict[str, Any] = dict.fromkeys(self.coordinator.data)
        data.update(values)
        data.update(self._energy_values())
        self._answered()
        self.coordinator.async_push(data)
        return True

    def _error_text(self, err: BaseException) -> str:
        """How an error reads in `last_error` and the log: its repr (the library's exceptions
        often carry no message)."""
        return repr(err)

    def diagnostics(self) -> dict[str, Any]:
        """Poll counters, errors and energy totals (`PolledBatterySource`), the family, the
        library's version, the connection option and the last raw sample."""
        return {
            **super().diagnostics(),
            "family": self.family,
            "library": _basebms.__version__,
            "keep_connection": self.keep_connection,
            "last_sample": {k: repr(v) for k, v in (self.last_sample or {}).items()},
        }

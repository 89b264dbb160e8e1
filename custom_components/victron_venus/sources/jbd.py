"""JBD battery source: one JBD (Xiaoxiang) BMS over Bluetooth LE or a serial port, polled.

Every poll (default every 10 s, option) asks for 0x03 (basic info) and 0x04 (cell voltages), one
request at a time; 0x05 (the model string) is asked until it answers, at most three times, and
goes to the device registry. bytes → `JBDExchange` (assembler, verified frames) →
`protocol.jbd.parse_frame` → the battery's values → its coordinator.

Faults (issue 4 §5): bad checksums, short frames and garbage are dropped by the assembler and
counted there; a request that gets no verified answer (a BMS that stops answering, a disconnect in
the middle of a frame, an error status) is counted by kind in `errors`, logged once when the
battery stops answering and once when it answers again, and retried on the next poll (reconnecting
when needed). No exception leaves the poll loop; freshness makes the entities unavailable.

Energy: charged and discharged energy are integrated here, at full poll rate, from voltage x
current (`battery.energy.EnergyIntegrator`, trapezoids split where the power changes sign;
importable from here too), and kept in a
Home Assistant `Store` per entry (`.storage/victron_venus.jbd_energy.<entry_id>`): loaded at
setup, saved at most 30 s after a change and at unload, removed with the entry. Entities only read
them. The save is debounced (`EnergySaver`, importable from here): Home Assistant's
`async_delay_save` pushes a pending write further out on every call, which with a poll every 10 s
would never write before the final write at shutdown; a power cut would lose every counted kWh
since the start.

The link is any `transport.jbd.JBDLink` (serial or Bluetooth LE). The running source registers
its coordinator in the battery registry (`sources.registry`), so a bank follows it. The poll
loop, the poll and error bookkeeping, the energy Store and the registry are the battery sources'
common part (`sources.battery_poll.PolledBatterySource`).

Control (issue 11 §4; opt-in: the entry's Control option, off by default): the charge and
discharge MOSFET switches (descriptions/jbd_controls.py) write through `async_write`, which takes
the link between two polls (one request in flight: polls and writes share one lock), sends
`protocol.jbd.mosfet_control`'s sequence (enter factory mode, 0xE1, leave factory mode; each
acknowledged by an empty ``DD reg 00 00 00 00 77`` within `REQUEST_TIMEOUT`), then polls at once
and counts the write confirmed only when the FET bit of that 0x03 answer is the one asked for.
No acknowledgement in time or no 0x03 answer -> `jbd_control_not_confirmed`; an error status or
another FET state -> `jbd_control_refused`; a battery not connected -> `jbd_control_not_connected`
(translated HomeAssistantErrors); the switch then shows what the BMS reports. With Control off
there is no switch and nothing here sends a write byte.

Probes (the config flow's test-before-configure): `async_probe_bluetooth` and
`async_probe_serial` read 0x03 and 0x05 and raise the `sources.errors` probe errors, each with the
form error's key (`probe_failure` maps the transport and protocol exceptions).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
import logging
from typing import Any

from bleak.exc import BleakError
from homeassistant.const import CONF_ADDRESS, CONF_PASSWORD, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.typing import UNDEFINED, UndefinedType

from ..battery.energy import EnergyIntegrator
from ..const import CONF_SERIAL_PORT, DOMAIN
from ..control import (
    CONFIRMED,
    VictronControlEntityDescription,
    VictronNumberEntityDescription,
    WriteLog,
    error,
)
from ..coordinator import DeviceCoordinator, VictronConfigEntry
from ..descriptions.jbd import BINARY_SENSORS, SENSORS
from ..descriptions.jbd_controls import CHARGE_KEY, DISCHARGE_KEY, SWITCHES
from ..protocol import jbd
from ..transport.ble import (
    SERVICE_UUID,
    BleAuthError,
    BleConnectError,
    BleDeviceNotFound,
    BleNotJBD,
    JBDBleLink,
)
from ..transport.jbd import JBDLink, JBDSerialLink, LinkError, NoResponse
from ..transport.serial import SerialPortError
from .battery_poll import (
    CONF_POLL_INTERVAL as CONF_POLL_INTERVAL,  # noqa: PLC0414  (re-exported: the flows' option)
    DATA_CELLS,
    DATA_SENSORS,
    EnergySaver,
    PolledBatterySource,
    cell_values,
    seed_keys,
)
from .errors import (
    BadData,
    CannotConnect,
    InvalidAuth,
    NoAnswer,
    NotInRange,
    NotJBD,
    ProbeError,
    port_error,
)

__all__ = [
    "SERVICE_UUID",  # the JBD BMS service (Bluetooth discovery)
    "EnergyIntegrator",  # moved to battery.energy; importable from here
    "EnergySaver",  # moved to sources.battery_poll; importable from here
    "JBDLink",
    "JBDSource",
    "ProbeResult",
    "async_probe",
    "async_probe_bluetooth",
    "async_probe_serial",
    "basic_values",
    "cell_values",  # moved to sources.battery_poll; importable from here
    "probe_error",
    "probe_failure",
    "seed_keys",  # moved to sources.battery_poll; importable from here
]

_LOGGER = logging.getLogger(__name__)

MANUFACTURER = "Jiabaida (JBD)"
#: the device model until the BMS answers 0x05 with its hardware string (a product name, not
#: translated; never the firmware, which is the device's sw_version)
FALLBACK_MODEL = "JBD BMS"

#: entry.data / entry.options keys
CONF_TRANSPORT = "transport"  # "bluetooth" or "serial"
CONF_KEEP_CONNECTION = "keep_connection"
CONF_CONTROL = "control"  # the Control option: MOSFET switches (off by default)
DATA_MODEL = "model"
DATA_SOFTWARE = "software_version"
TRANSPORT_BLUETOOTH = "bluetooth"
TRANSPORT_SERIAL = "serial"

#: seconds to wait for each answer (module attributes: tests shorten them)
REQUEST_TIMEOUT = 3.0
PROBE_TIMEOUT = 10.0
#: how many polls ask 0x05 before giving up on the model string
HARDWARE_ATTEMPTS = 3
#: at most this many seconds after a change the energy counters are on disk
ENERGY_SAVE_DELAY = 30.0

REQUEST_BASIC = jbd.request(jbd.REG_BASIC_INFO)
REQUEST_CELLS = jbd.request(jbd.REG_CELL_VOLTAGES)
REQUEST_HARDWARE = jbd.request(jbd.REG_HARDWARE_INFO)

# translation keys of the control errors (strings.json `exceptions`)
CONTROL_NOT_CONFIRMED = "jbd_control_not_confirmed"
CONTROL_REFUSED = "jbd_control_refused"
CONTROL_NOT_CONNECTED = "jbd_control_not_connected"
CONTROL_OFF = "jbd_control_off"


def control_enabled(options: Any) -> bool:
    """Whether an entry's options turn Control (the MOSFET switches) on; off by default."""
    return bool(options.get(CONF_CONTROL, False))


def mosfet_targets(
    basic: jbd.BasicInfo | None, key: str, on: bool, written: Mapping[str, bool] | None = None
) -> tuple[bool, bool]:
    """(charge, discharge) to write so that the MOSFET at `key` becomes `on` and the other stays.

    The other MOSFET keeps the state the BMS reports (`basic`'s FET bits), except while the BMS
    reports a protection (any flag but the MOS software lock): then a MOSFET it reports off may
    be held off by that protection, not by the 0xE1 software switch, and writing "off" there
    would keep it off after the protection ends - which nobody asked for. So it is written as
    last confirmed by a write of ours (`written`: key -> state), else on. No 0x03 yet: the same.
    Raises ValueError for a key that is not a MOSFET's.
    """
    if key not in (CHARGE_KEY, DISCHARGE_KEY):
        raise ValueError(f"not a MOSFET key: {key}")
    other = DISCHARGE_KEY if key == CHARGE_KEY else CHARGE_KEY
    if basic is not None and not basic.protection - {"mos_software_lock"}:
        keep = bool(getattr(basic, other))
    else:
        keep = (written or {}).get(other, True)
    return (on, keep) if key == CHARGE_KEY else (keep, on)


#: what reading a battery may raise underneath (the probe turns each into a `ProbeError`)
PROBE_FAILURES = (LinkError, jbd.JBDError, BleakError, TimeoutError, SerialPortError)


def basic_values(info: jbd.BasicInfo) -> dict[str, Any]:
    """The coordinator values of a 0x03 record (keys = description keys; SI units)."""
    data: dict[str, Any] = {
        "voltage": info.voltage,
        "current": info.current,
        "power": round(info.power, 2),
        "soc": info.soc,
        "remaining_capacity": info.remaining_capacity,
        "nominal_capacity": info.nominal_capacity,
        "cycles": info.cycles,
        "cell_count": info.cell_count,
        "balancing": any(info.balancing),
        "balancing_cells": [n for n, on in enumerate(info.balancing, start=1) if on],
        "charge_fet": info.charge_fet,
        "discharge_fet": info.discharge_fet,
        "temperatures": list(info.temperatures),
        "software_version": info.software_version,
    }
    for flag in jbd.PROTECTION_FLAGS:
        data[f"protection_{flag}"] = flag in info.protection
    for index, value in enumerate(info.temperatures, start=1):
        data[f"temperature_{index}"] = value
    return data


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the config flow learns from a battery: its 0x03 record and (maybe) its model."""

    basic: jbd.BasicInfo
    model: str | None

    def entry_data(self) -> dict[str, Any]:
        """entry.data fields from the probe."""
        return {
            DATA_MODEL: self.model,
            DATA_SOFTWARE: self.basic.software_version,
            DATA_CELLS: self.basic.cell_count,
            DATA_SENSORS: len(self.basic.temperatures),
        }


async def async_probe(link: JBDLink, timeout: float | None = None) -> ProbeResult:
    """Connect `link`, read 0x03 (required) and 0x05 (optional), release the link.

    Raises the link's errors (`BleDeviceNotFound`, `BleConnectError`, `BleAuthError`,
    `NoResponse`, ...), or `jbd.JBDError` when the BMS answers 0x03 with an error status.
    """
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    try:
        async with asyncio.timeout(timeout * 3):
            await link.async_connect()
            record = jbd.parse_frame(await link.async_request(REQUEST_BASIC, timeout))
            if not isinstance(record, jbd.BasicInfo):  # pragma: no cover - the exchange checks
                raise jbd.UnknownRegisterError(jbd.REG_BASIC_INFO)
            model: str | None = None
            try:
                hardware = jbd.parse_frame(
                    await link.async_request(REQUEST_HARDWARE, min(timeout, 2.0))
                )
            except (LinkError, jbd.JBDError) as err:
                _LOGGER.debug("No model string from the BMS: %s", err)
            else:
                if isinstance(hardware, jbd.HardwareInfo) and hardware.model:
                    model = hardware.model
            return ProbeResult(record, model)
    finally:
        await link.async_close()


def probe_failure(err: Exception, bytes_seen: bool = False) -> ProbeError:
    """The probe error (with its form error key) for what a failed read of a battery raised.

    Bluetooth: not heard (`NotInRange`), password rejected (`InvalidAuth`), no JBD service
    (`NotJBD`), connect failed (`CannotConnect`). Serial: the port's `port_error`. Then: no
    answer (`NoResponse`, or `BadData` when bytes arrived but none verified), an invalid answer
    (`BadData`); anything else (a bleak error, a timeout) is `CannotConnect`.
    """
    if isinstance(err, ProbeError):
        return err
    if isinstance(err, BleDeviceNotFound):
        return NotInRange(str(err))
    if isinstance(err, BleAuthError):
        return InvalidAuth(str(err))
    if isinstance(err, BleNotJBD):
        return NotJBD(str(err))
    if isinstance(err, BleConnectError):
        return CannotConnect(str(err))
    if isinstance(err, SerialPortError):
        return port_error(err)
    if isinstance(err, NoResponse):
        return BadData(str(err)) if bytes_seen else NoAnswer(str(err))
    if isinstance(err, jbd.JBDError):
        return BadData(str(err))
    return CannotConnect(str(err) or type(err).__name__)


def probe_error(err: Exception, bytes_seen: bool = False) -> str:
    """The translation key of the form error for what a failed read of a battery raised."""
    return probe_failure(err, bytes_seen).reason


async def async_probe_bluetooth(
    hass: HomeAssistant, address: str, name: str, password: str | None
) -> ProbeResult:
    """Read the battery at Bluetooth `address` (0x03, maybe 0x05), logging in with `password`.

    Raises a `ProbeError` (see `probe_failure`).
    """
    link = JBDBleLink(hass, address, password=password, name=name)
    try:
        return await async_probe(link)
    except PROBE_FAILURES as err:
        _LOGGER.debug("Probing %s failed: %r", address, err)
        raise probe_failure(err) from err


async def async_probe_serial(hass: HomeAssistant, path: str) -> ProbeResult:
    """Read the battery on serial port `path` (0x03, maybe 0x05); the port is closed after.

    Raises a `ProbeError` (see `probe_failure`; no answer counts as bad data once bytes arrived).
    """
    link = JBDSerialLink(path)
    try:
        await link.async_open(
            lambda coro: hass.async_create_background_task(coro, f"JBD probe {path}")
        )
        return await async_probe(link)
    except PROBE_FAILURES as err:
        _LOGGER.debug("Probing %s failed: %r", path, err)
        await link.async_close()
        raise probe_failure(err, link.connection.bytes_received > 0) from err


def make_link(hass: HomeAssistant, entry: VictronConfigEntry) -> JBDLink:
    """The entry's transport: Bluetooth LE (address) or serial (port)."""
    if entry.data.get(CONF_TRANSPORT) == TRANSPORT_SERIAL:
        return JBDSerialLink(entry.data[CONF_SERIAL_PORT])
    return JBDBleLink(
        hass,
        entry.data[CONF_ADDRESS],
        password=entry.options.get(CONF_PASSWORD) or None,
        keep_connection=bool(entry.options.get(CONF_KEEP_CONNECTION, True)),
        name=entry.title,
    )


class JBDSource(PolledBatterySource):
    """One JBD battery: polls it, integrates energy, pushes its values (see module docstring)."""

    platforms: tuple[Platform, ...] = (Platform.SENSOR, Platform.BINARY_SENSOR)
    energy_key = "jbd_energy"
    task_label = "JBD"
    logger = _LOGGER

    def __init__(self, hass: HomeAssistant, entry: VictronConfigEntry) -> None:
        """Prepare the source of `entry`; nothing runs before async_start."""
        super().__init__(hass, entry, ENERGY_SAVE_DELAY)
        assert entry.unique_id is not None
        self.link: JBDLink = make_link(hass, entry)
        data = entry.data
        connections: set[tuple[str, str]] = set()
        if isinstance(self.link, JBDBleLink):
            connections.add((dr.CONNECTION_BLUETOOTH, self.link.address))
        device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.unique_id)},
            connections=connections,
            manufacturer=MANUFACTURER,
            model=data.get(DATA_MODEL) or FALLBACK_MODEL,
            name=entry.title,
            sw_version=data.get(DATA_SOFTWARE),
        )
        # a poll may take its two requests' timeouts
        self.coordinator = self._make_coordinator(device_info, 2 * REQUEST_TIMEOUT)
        self.hardware: jbd.HardwareInfo | None = None
        self._hardware_attempts = 0
        self.last_basic: jbd.BasicInfo | None = None
        self.last_cells: jbd.CellVoltages | None = None
        self.in_poll = False
        #: one request in flight: a poll and a write sequence never interleave
        self._io = asyncio.Lock()
        self.basic_reads = 0  # 0x03 answers decoded (a write waits for the next one)
        #: Control: MOSFET switches only with the option on (else no switch, no write byte)
        self.control_enabled = control_enabled(entry.options)
        self.write_log = WriteLog()
        self.mosfets_written: dict[str, bool] = {}  # key -> state last confirmed after our write
        if self.control_enabled:
            self.platforms = (*self.platforms, Platform.SWITCH)
            self.tables = {**self.tables, Platform.SWITCH: SWITCHES}

    tables = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
    }

    async def async_start(self) -> None:
        """Restore the energy counters, open the link (ConfigEntryNotReady), start polling."""
        await self._restore_energy()
        try:
            await self.link.async_open(self._create_task)
        except (SerialPortError, BleDeviceNotFound, TimeoutError) as err:
            await self.link.async_close()
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="jbd_not_ready",
                translation_placeholders={
                    "name": self.entry.title,
                    "error": str(err) or "the port did not open in time",
                },
            ) from err
        self._start_polling()

    async def _async_close(self) -> None:
        """Close the link (unload)."""
        await self.link.async_close()

    async def async_poll(self) -> bool:
        """One poll: connect if needed, 0x05 until known, 0x03 and 0x04; push. True when good."""
        async with self._io:
            return await self._poll_now()

    async def _poll_now(self) -> bool:
        """One poll while holding the link (see `async_poll`); the link is released after."""
        self.polls += 1
        self.in_poll = True
        try:
            return await self._poll()
        except Exception as err:  # a bug must not end the loop: count it, log it once
            self._failed("unexpected", err, exc_info=True)
            return False
        finally:
            try:
                await self.link.async_release()
            except Exception as err:  # releasing must not end the loop either
                _LOGGER.debug("%s: releasing the link failed: %r", self.entry.title, err)
            self.in_poll = False

    async def _poll(self) -> bool:
        try:
            await self.link.async_connect()
        except (LinkError, BleakError, TimeoutError) as err:
            self._failed("connect", err)
            return False
        if self.hardware is None and self._hardware_attempts < HARDWARE_ATTEMPTS:
            self._hardware_attempts += 1
            record = await self._read(REQUEST_HARDWARE, quiet=True)
            if isinstance(record, jbd.HardwareInfo) and record.model:
                self.hardware = record
                self._update_device_registry(model=record.model)
        basic = await self._read(REQUEST_BASIC)
        cells = await self._read(REQUEST_CELLS) if self.link.connected else None
        if not isinstance(basic, jbd.BasicInfo) and not isinstance(cells, jbd.CellVoltages):
            return False
        data: dict[str, Any] = dict.fromkeys(self.coordinator.data)
        if isinstance(basic, jbd.BasicInfo):
            if self.last_basic is None or (
                self.last_basic.software_version != basic.software_version
            ):
                self._update_device_registry(sw_version=basic.software_version)
            self.last_basic = basic
            self.basic_reads += 1
            self._integrate(basic.power)
            data.update(basic_values(basic))
        data.update(self._energy_values())
        if isinstance(cells, jbd.CellVoltages):
            self.last_cells = cells
            data.update(cell_values(cells))
        complete = isinstance(basic, jbd.BasicInfo) and isinstance(cells, jbd.CellVoltages)
        if complete:
            self._answered()
        self.coordinator.async_push(data)
        return complete

    async def _read(self, request: bytes, *, quiet: bool = False) -> object | None:
        """Send one request; the decoded record, or None (counted, logged once)."""
        try:
            frame = await self.link.async_request(request, REQUEST_TIMEOUT)
            return jbd.parse_frame(frame)
        except jbd.StatusError as err:
            self._failed("error_status", err, quiet=quiet)
        except jbd.JBDError as err:
            self._failed("bad_frame", err, quiet=quiet)
        except TimeoutError as err:  # NoResponse
            self._failed("no_response", err, quiet=quiet)
        except (LinkError, BleakError) as err:  # LinkClosed: disconnect mid-frame
            self._failed("link", err, quiet=quiet)
        return None

    @callback
    def _update_device_registry(
        self, *, model: str | UndefinedType = UNDEFINED, sw_version: str | UndefinedType = UNDEFINED
    ) -> None:
        """Model (0x05) and software version (0x03) to the device registry (UNDEFINED: keep)."""
        info = self.coordinator.device_info
        if not isinstance(model, UndefinedType):
            info["model"] = model
        if not isinstance(sw_version, UndefinedType):
            info["sw_version"] = sw_version
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, self.coordinator.identifier), self.entry.entry_id
        )
        if device is not None:
            registry.async_update_device(device.id, model=model, sw_version=sw_version)

    # --- control: the MOSFET switches ----------------------------------------------------------

    async def async_write(
        self,
        coordinator: DeviceCoordinator,
        row: VictronControlEntityDescription,
        value: Any,
        *,
        entity_id: str | None = None,
        old: Any = None,
        new: Any = None,
    ) -> None:
        """Switch the MOSFET of `row` (`value` True: on) and return once the BMS reports it.

        See the module docstring (control). Raises the translated HomeAssistantErrors
        `jbd_control_off` (nothing sent), `jbd_control_not_connected` (nothing sent),
        `jbd_control_not_confirmed` and `jbd_control_refused`; a row that is not a MOSFET
        switch or a value that is not a bool raises ValueError (nothing sent).
        """
        who = entity_id or row.key
        path = row.path or row.key
        shown = value if new is None else new
        title = self.entry.title
        if not self.control_enabled:
            self.write_log.add(who, path, old, shown, CONTROL_OFF)
            raise error(CONTROL_OFF, entity=who, battery=title)
        if type(value) is not bool:
            raise ValueError(f"a MOSFET is switched with a bool, not {value!r}")
        async with self._io:
            try:
                await self.link.async_connect()
            except (LinkError, BleakError, TimeoutError) as err:
                _LOGGER.debug("%s: %s: not connected: %r", title, who, err)
                self.write_log.add(who, path, old, shown, CONTROL_NOT_CONNECTED)
                raise error(CONTROL_NOT_CONNECTED, entity=who, battery=title) from err
            charge, discharge = mosfet_targets(
                self.last_basic, row.key, value, self.mosfets_written
            )
            _LOGGER.info("%s: %s: %s %s -> %s", title, who, path, old, shown)
            failure = await self._send_writes(jbd.mosfet_control(charge, discharge))
            if failure is not None:
                try:
                    await self.link.async_release()
                except Exception as err:  # releasing must not hide the outcome
                    _LOGGER.debug("%s: releasing the link failed: %r", title, err)
            else:
                reads = self.basic_reads
                await self._poll_now()  # the confirmation: the next 0x03, at once
                if self.basic_reads == reads or self.last_basic is None:
                    failure = CONTROL_NOT_CONFIRMED
                elif getattr(self.last_basic, row.key) is not value:
                    failure = CONTROL_REFUSED
                else:
                    self.mosfets_written.update(charge_fet=charge, discharge_fet=discharge)
        self.write_log.add(who, path, old, shown, failure or CONFIRMED)
        if failure is None:
            return
        _LOGGER.warning("%s: %s: %s -> %s: %s", title, who, path, shown, failure)
        raise error(failure, entity=who, battery=title, seconds=f"{REQUEST_TIMEOUT:g}")

    async def _send_writes(self, frames: list[bytes]) -> str | None:
        """Send a write sequence, each frame after the previous one's acknowledgement.

        Returns None when every write was acknowledged (status 0), else the error's translation
        key: no acknowledgement in time (or a lost link) `jbd_control_not_confirmed`, an error
        status `jbd_control_refused`. Once factory mode was entered, a failed write is followed
        by the sequence's last frame (leave factory mode) all the same, its answer ignored.
        """
        for index, frame in enumerate(frames):
            failure = await self._send_write(frame)
            if failure is None:
                continue
            if 0 < index < len(frames) - 1:  # factory mode was entered: leave it
                await self._send_write(frames[-1])
            return failure
        return None

    async def _send_write(self, frame: bytes) -> str | None:
        """One register write and its acknowledgement (None: acknowledged; else the error key)."""
        try:
            answer = jbd.parse_write_response(await self.link.async_request(frame, REQUEST_TIMEOUT))
        except (LinkError, BleakError, TimeoutError) as err:
            self.errors["write_no_ack"] += 1
            self.last_error = f"write_no_ack: {err}"
            return CONTROL_NOT_CONFIRMED
        except jbd.JBDError as err:
            self.errors["write_bad_ack"] += 1
            self.last_error = f"write_bad_ack: {err}"
            return CONTROL_NOT_CONFIRMED
        if not answer.ok:
            self.errors["write_refused"] += 1
            self.last_error = f"write_refused: 0x{answer.register:02X} status 0x{answer.status:02X}"
            return CONTROL_REFUSED
        return None

    def control_limits(
        self, coordinator: DeviceCoordinator, row: VictronNumberEntityDescription
    ) -> tuple[Any, Any]:
        """No number rows: (None, None) (control.ControlSource)."""
        return (None, None)

    def diagnostics(self) -> dict[str, Any]:
        """Poll counters, errors and energy totals (`PolledBatterySource`), the link's counters,
        the model and the control writes."""
        return {
            **super().diagnostics(),
            "link": self.link.diagnostics(),
            "model": self.hardware.model if self.hardware else None,
            "control": {
                "enabled": self.control_enabled,
                "writes": self.write_log.count,
                "last": self.write_log.as_list(),
            },
        }

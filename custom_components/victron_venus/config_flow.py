"""Config flow: one menu of entry types, discovery, reconfigure and options.

VE.Direct: the user picks a serial port (by-id paths first) or types one; the flow reads a
verified record within 5 s before it creates the entry (test-before-configure), with distinct
errors for a missing port, a permission problem, no VE.Direct data and failing checksums.
unique_id = the device's SER# (see `sources.vedirect.device_identifier` for BMVs without one).
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.components import usb
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import probatio

from .const import (
    CONF_ENTRY_TYPE,
    CONF_SERIAL_PORT,
    CONF_UPDATE_INTERVAL,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    MAX_UPDATE_INTERVAL,
    EntryType,
)
from .sources.vedirect import (
    NoVEDirectData,
    ProbeResult,
    VEDirectChecksumErrors,
    async_probe,
    device_identifier,
)
from .transport.serial import SerialPortError, SerialPortNotFound, SerialPortPermissionDenied

_LOGGER = logging.getLogger(__name__)


async def _async_list_ports(hass: HomeAssistant) -> list[tuple[str, str, str | None]]:
    """Serial ports as (path, label, usb serial number), /dev/serial/by-id paths first."""
    ports: list[tuple[str, str, str | None]] = []
    for port in await usb.async_scan_serial_ports(hass):
        path = await hass.async_add_executor_job(usb.get_serial_by_id, port.device)
        label = usb.human_readable_device_name(
            path,
            port.serial_number,
            port.manufacturer,
            port.description,
            getattr(port, "vid", None),
            getattr(port, "pid", None),
        )
        ports.append((path, label, port.serial_number))
    ports.sort(key=lambda p: (not p[0].startswith("/dev/serial/by-id/"), p[0]))
    return ports


async def _async_probe_port(
    hass: HomeAssistant, path: str, usb_serial: str | None = None
) -> ProbeResult:
    """Probe `path`; find the cable's USB serial when the caller did not pass it."""
    record = await async_probe(path)
    if usb_serial is None and not record.serial:
        for known_path, _label, serial in await _async_list_ports(hass):
            if known_path == path:
                usb_serial = serial
    return ProbeResult(record, device_identifier(record, usb_serial, path))


def _probe_error(err: Exception) -> str:
    """The translation key of the form error for a probe failure."""
    if isinstance(err, SerialPortNotFound):
        return "port_not_found"
    if isinstance(err, SerialPortPermissionDenied):
        return "permission_denied"
    if isinstance(err, VEDirectChecksumErrors):
        return "checksum_failed"
    if isinstance(err, NoVEDirectData):
        return "no_data"
    return "cannot_open"


PROBE_ERRORS = (SerialPortError, NoVEDirectData, VEDirectChecksumErrors)


class VictronVenusConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a VE.Direct device (more entry types follow the same menu)."""

    VERSION = 1

    def __init__(self) -> None:
        """Start a flow."""
        self._probe: ProbeResult | None = None
        self._path: str | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> VictronVenusOptionsFlow:
        """The options flow (update interval)."""
        return VictronVenusOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to add."""
        return self.async_show_menu(step_id="user", menu_options=[EntryType.VEDIRECT.value])

    async def _async_port_schema(self, default: str | None = None) -> probatio.Schema:
        ports = await _async_list_ports(self.hass)
        options = [SelectOptionDict(value=path, label=label) for path, label, _ in ports]
        key = (
            probatio.Required(CONF_SERIAL_PORT, default=default)
            if default
            else probatio.Required(CONF_SERIAL_PORT)
        )
        return probatio.Schema(
            {
                key: SelectSelector(
                    SelectSelectorConfig(
                        options=options, custom_value=True, mode=SelectSelectorMode.DROPDOWN
                    )
                )
            }
        )

    async def async_step_vedirect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick or type the serial port of a VE.Direct device and read it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            path = user_input[CONF_SERIAL_PORT].strip()
            try:
                probe = await _async_probe_port(self.hass, path)
            except PROBE_ERRORS as err:
                _LOGGER.debug("Probing %s failed: %r", path, err)
                errors["base"] = _probe_error(err)
            else:
                await self.async_set_unique_id(probe.identifier)
                self._abort_if_unique_id_configured(updates={CONF_SERIAL_PORT: path})
                return self._async_create_vedirect(probe, path)
        return self.async_show_form(
            step_id="vedirect",
            data_schema=await self._async_port_schema(),
            errors=errors,
        )

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """A VE.Direct USB cable was plugged in: read it, then ask to confirm."""
        path = await self.hass.async_add_executor_job(usb.get_serial_by_id, discovery_info.device)
        try:
            probe = await _async_probe_port(self.hass, path, discovery_info.serial_number)
        except PROBE_ERRORS as err:
            _LOGGER.debug("Discovered port %s is not usable: %r", path, err)
            return self.async_abort(reason=_probe_error(err))
        await self.async_set_unique_id(probe.identifier)
        self._abort_if_unique_id_configured(updates={CONF_SERIAL_PORT: path})
        self._probe, self._path = probe, path
        self.context["title_placeholders"] = {"name": probe.title}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm the discovered device."""
        assert self._probe is not None and self._path is not None
        if user_input is not None:
            return self._async_create_vedirect(self._probe, self._path)
        self._set_confirm_only()
        return self.async_show_form(
            step_id="usb_confirm",
            description_placeholders={"name": self._probe.title, "port": self._path},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the device to another serial port."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            path = user_input[CONF_SERIAL_PORT].strip()
            try:
                probe = await _async_probe_port(self.hass, path)
            except PROBE_ERRORS as err:
                errors["base"] = _probe_error(err)
            else:
                await self.async_set_unique_id(probe.identifier)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(
                    entry, data_updates=probe.entry_data(path)
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=await self._async_port_schema(entry.data[CONF_SERIAL_PORT]),
            errors=errors,
        )

    @callback
    def _async_create_vedirect(self, probe: ProbeResult, path: str) -> ConfigFlowResult:
        return self.async_create_entry(
            title=probe.title,
            data={CONF_ENTRY_TYPE: EntryType.VEDIRECT.value, **probe.entry_data(path)},
            options={CONF_UPDATE_INTERVAL: DEFAULT_UPDATE_INTERVAL},
        )


class VictronVenusOptionsFlow(OptionsFlowWithReload):
    """Options: how often an entity may write its state."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The update interval (seconds; 0 = every change)."""
        if user_input is not None:
            return self.async_create_entry(
                data={CONF_UPDATE_INTERVAL: int(user_input[CONF_UPDATE_INTERVAL])}
            )
        current = self.config_entry.options.get(CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL)
        return self.async_show_form(
            step_id="init",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_UPDATE_INTERVAL, default=current): NumberSelector(
                        NumberSelectorConfig(
                            min=0,
                            max=MAX_UPDATE_INTERVAL,
                            step=1,
                            mode=NumberSelectorMode.BOX,
                            unit_of_measurement="s",
                        )
                    )
                }
            ),
        )

"""VE.Direct config flow steps: pick or type a serial port, USB discovery, reconfigure.

The flow reads a verified record within 5 s before it creates the entry (test-before-configure),
with distinct errors for a missing port, a permission problem, no VE.Direct data and failing
checksums. unique_id = the device's SER# (see `sources.vedirect.device_identifier` for BMVs).
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.components import usb
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import probatio

from ..const import (
    CONF_ENTRY_TYPE,
    CONF_SERIAL_PORT,
    CONF_WRITE_INTERVAL,
    DEFAULT_WRITE_INTERVAL,
    EntryType,
)
from ..sources.errors import ProbeError
from ..sources.vedirect import ProbeResult, async_probe, device_identifier
from ..sources.venus_control import CONF_CONTROL

_LOGGER = logging.getLogger(__name__)


async def async_list_ports(hass: HomeAssistant) -> list[tuple[str, str, str | None]]:
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


async def async_port_schema(
    hass: HomeAssistant, key: str = CONF_SERIAL_PORT, default: str | None = None
) -> probatio.Schema:
    """A form with one serial-port field: the scanned ports, or any typed path."""
    ports = await async_list_ports(hass)
    options = [SelectOptionDict(value=path, label=label) for path, label, _ in ports]
    marker = probatio.Required(key, default=default) if default else probatio.Required(key)
    return probatio.Schema(
        {
            marker: SelectSelector(
                SelectSelectorConfig(
                    options=options, custom_value=True, mode=SelectSelectorMode.DROPDOWN
                )
            )
        }
    )


async def _async_probe_port(
    hass: HomeAssistant, path: str, usb_serial: str | None = None
) -> ProbeResult:
    """Probe `path`; find the cable's USB serial when the caller did not pass it.

    Raises a `sources.errors.ProbeError` (its `reason` is the form error or abort reason).
    """
    record = await async_probe(path)
    if usb_serial is None and not record.serial:
        for known_path, _label, serial in await async_list_ports(hass):
            if known_path == path:
                usb_serial = serial
    return ProbeResult(record, device_identifier(record, usb_serial, path))


class VEDirectFlowMixin(ConfigFlow):
    """The VE.Direct steps of the integration's config flow."""

    _vedirect_probe: ProbeResult | None = None
    _vedirect_path: str | None = None

    async def async_step_vedirect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick or type the serial port of a VE.Direct device and read it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            path = user_input[CONF_SERIAL_PORT].strip()
            try:
                probe = await _async_probe_port(self.hass, path)
            except ProbeError as err:
                _LOGGER.debug("Probing %s failed: %r", path, err)
                errors["base"] = err.reason
            else:
                await self.async_set_unique_id(probe.identifier)
                self._abort_if_unique_id_configured(updates={CONF_SERIAL_PORT: path})
                return self._async_create_vedirect(probe, path)
        return self.async_show_form(
            step_id="vedirect", data_schema=await async_port_schema(self.hass), errors=errors
        )

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """A VE.Direct USB cable was plugged in: read it, then ask to confirm."""
        path = await self.hass.async_add_executor_job(usb.get_serial_by_id, discovery_info.device)
        try:
            probe = await _async_probe_port(self.hass, path, discovery_info.serial_number)
        except ProbeError as err:
            _LOGGER.debug("Discovered port %s is not usable: %r", path, err)
            return self.async_abort(reason=err.reason)
        await self.async_set_unique_id(probe.identifier)
        self._abort_if_unique_id_configured(updates={CONF_SERIAL_PORT: path})
        self._vedirect_probe, self._vedirect_path = probe, path
        self.context["title_placeholders"] = {"name": probe.title}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm the discovered device."""
        assert self._vedirect_probe is not None and self._vedirect_path is not None
        if user_input is not None:
            return self._async_create_vedirect(self._vedirect_probe, self._vedirect_path)
        self._set_confirm_only()
        return self.async_show_form(
            step_id="usb_confirm",
            description_placeholders={
                "name": self._vedirect_probe.title,
                "port": self._vedirect_path,
            },
        )

    async def async_step_reconfigure_vedirect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the device to another serial port (the same device only)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            path = user_input[CONF_SERIAL_PORT].strip()
            try:
                probe = await _async_probe_port(self.hass, path)
            except ProbeError as err:
                errors["base"] = err.reason
            else:
                await self.async_set_unique_id(probe.identifier)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(
                    entry, data_updates=probe.entry_data(path)
                )
        return self.async_show_form(
            step_id="reconfigure_vedirect",
            data_schema=await async_port_schema(self.hass, default=entry.data[CONF_SERIAL_PORT]),
            errors=errors,
        )

    @callback
    def _async_create_vedirect(self, probe: ProbeResult, path: str) -> ConfigFlowResult:
        return self.async_create_entry(
            title=probe.title,
            data={CONF_ENTRY_TYPE: EntryType.VEDIRECT.value, **probe.entry_data(path)},
            options={CONF_WRITE_INTERVAL: DEFAULT_WRITE_INTERVAL},
        )


@callback
def options_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """The VE.Direct options beside the shared ones: Control (off by default). Off: the port is
    only read, not one byte is written to it. On: HEX reads of identity, settings and history,
    and the device's controls (descriptions/vedirect_controls.py)."""
    return {
        probatio.Required(
            CONF_CONTROL, default=bool(entry.options.get(CONF_CONTROL, False))
        ): BooleanSelector(),
    }

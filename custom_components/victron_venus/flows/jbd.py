"""JBD battery config flow steps: a discovered Bluetooth battery or a serial port; discovery.

Test-before-configure: the flow connects and reads 0x03 (basic info) before it creates the
entry, with distinct errors (not in range, cannot connect, wrong password, no answer, bad data,
and the serial port errors). 0x05 (the model string) names the entry when the BMS answers it.
Bluetooth discovery: the manifest's matchers (service 0xFF00 with the vendor's name patterns, or
service 0xFF00 alone, connectable) start `async_step_bluetooth`, which keeps a device whose name
matches a JBD pattern or whose address has a JBD module's OUI (protocols.md §2.1) and asks to
confirm (with an optional FF AA password). unique_id = the Bluetooth address, or "jbd_" + the USB
serial number of the serial adapter (its port path when it has none).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from homeassistant.components import bluetooth
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_ADDRESS, CONF_PASSWORD
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

from ..const import (
    CONF_ENTRY_TYPE,
    CONF_SERIAL_PORT,
    CONF_WRITE_INTERVAL,
    DEFAULT_WRITE_INTERVAL,
    JBD_DEFAULT_POLL_INTERVAL,
    EntryType,
)
from ..sources.errors import ProbeError
from ..sources.jbd import (
    CONF_CONTROL,
    CONF_KEEP_CONNECTION,
    CONF_POLL_INTERVAL,
    CONF_TRANSPORT,
    SERVICE_UUID,
    TRANSPORT_BLUETOOTH,
    TRANSPORT_SERIAL,
    ProbeResult,
    async_probe_bluetooth,
    async_probe_serial,
    probe_error,
)
from .vedirect import async_list_ports, async_port_schema

__all__ = [
    "NAME_PATTERNS",
    "OUIS",
    "JBDFlowMixin",
    "is_jbd_advertisement",
    "is_jbd_name",
    "options_fields",
    "password_field",
    "probe_error",  # from sources.jbd: the form error key of a raw read failure
]

#: advertised names of JBD-based batteries (protocols.md §2.1, aiobmsble's JBD matchers)
NAME_PATTERNS = ("JBD-*", "SX1*", "SX60*", "DWF*", "SBL-*", "OGR-*", "TZ-H*")
#: address prefixes of JBD Bluetooth modules (protocols.md §2.1)
OUIS = ("10:A5:62", "A4:C1:37", "A4:C1:38", "A5:C2:37", "A5:C2:39", "A5:C2:3A", "AA:C2:37",
        "70:3E:97")  # fmt: skip
POLL_INTERVAL_MIN = 2
POLL_INTERVAL_MAX = 300


def is_jbd_name(name: str | None) -> bool:
    """Whether an advertised name matches a JBD battery's name pattern."""
    return bool(name) and any(fnmatchcase(str(name), pattern) for pattern in NAME_PATTERNS)


def is_jbd_advertisement(info: BluetoothServiceInfoBleak) -> bool:
    """A JBD battery for discovery: a JBD name, or service 0xFF00 from a JBD module's OUI."""
    if is_jbd_name(info.name):
        return True
    return SERVICE_UUID in info.service_uuids and info.address.upper()[:8] in OUIS


def password_field(default: str | None = None) -> dict[Any, Any]:
    """An optional FF AA password field (suggested value: the current password)."""
    marker = probatio.Optional(
        CONF_PASSWORD, description={"suggested_value": default} if default else None
    )
    return {marker: TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))}


def options_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """JBD options beside the update interval: poll interval; keep connection and password;
    Control (off by default: whether Home Assistant may switch the charge and discharge
    MOSFETs of the battery)."""
    options = entry.options
    fields: dict[Any, Any] = {
        probatio.Required(
            CONF_CONTROL, default=bool(options.get(CONF_CONTROL, False))
        ): BooleanSelector(),
        probatio.Required(
            CONF_POLL_INTERVAL, default=options.get(CONF_POLL_INTERVAL, JBD_DEFAULT_POLL_INTERVAL)
        ): NumberSelector(
            NumberSelectorConfig(
                min=POLL_INTERVAL_MIN,
                max=POLL_INTERVAL_MAX,
                step=1,
                mode=NumberSelectorMode.BOX,
                unit_of_measurement="s",
            )
        ),
    }
    if entry.data.get(CONF_TRANSPORT) != TRANSPORT_SERIAL:
        fields[
            probatio.Required(CONF_KEEP_CONNECTION, default=options.get(CONF_KEEP_CONNECTION, True))
        ] = BooleanSelector()
        fields.update(password_field(options.get(CONF_PASSWORD)))
    return fields


class JBDFlowMixin(ConfigFlow):
    """The JBD battery steps of the integration's config flow."""

    _jbd_discovery: BluetoothServiceInfoBleak | None = None

    async def async_step_jbd(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Bluetooth or serial."""
        return self.async_show_menu(step_id="jbd", menu_options=["jbd_bluetooth", "jbd_serial"])

    def _discovered_batteries(self) -> dict[str, str]:
        """address -> label of connectable devices that may be JBD batteries, not yet set up."""
        configured = self._async_current_ids(include_ignore=False)
        found: dict[str, str] = {}
        for info in bluetooth.async_discovered_service_info(self.hass, connectable=True):
            if info.address in configured or info.address in found:
                continue
            if SERVICE_UUID in info.service_uuids or is_jbd_name(info.name):
                found[info.address] = f"{info.name} ({info.address})"
        return found

    async def async_step_jbd_bluetooth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick a battery the Bluetooth adapters or proxies hear, and read it."""
        errors: dict[str, str] = {}
        discovered = self._discovered_batteries()
        if user_input is not None:
            address = user_input[CONF_ADDRESS]
            await self.async_set_unique_id(address, raise_on_progress=False)
            self._abort_if_unique_id_configured()
            password = user_input.get(CONF_PASSWORD) or None
            name = discovered.get(address, address).split(" (")[0]
            result = await self._async_probe_ble(address, name, password, errors)
            if result is not None:
                return result
        if not discovered:
            return self.async_abort(reason="no_devices_found")
        schema = probatio.Schema(
            {
                probatio.Required(CONF_ADDRESS): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=address, label=label)
                            for address, label in sorted(discovered.items(), key=lambda i: i[1])
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                **password_field(),
            }
        )
        return self.async_show_form(step_id="jbd_bluetooth", data_schema=schema, errors=errors)

    async def _async_probe_ble(
        self, address: str, name: str, password: str | None, errors: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Read 0x03 over Bluetooth; the created entry, or None with `errors` filled in."""
        try:
            probe = await async_probe_bluetooth(self.hass, address, name, password)
        except ProbeError as err:
            errors["base"] = err.reason
            return None
        title = name if is_jbd_name(name) else (probe.model or name)
        return self.async_create_entry(
            title=title,
            data={
                CONF_ENTRY_TYPE: EntryType.JBD.value,
                CONF_TRANSPORT: TRANSPORT_BLUETOOTH,
                CONF_ADDRESS: address,
                **probe.entry_data(),
            },
            options=_default_options(password),
        )

    async def async_step_bluetooth(
        self, discovery_info: BluetoothServiceInfoBleak
    ) -> ConfigFlowResult:
        """A battery was heard (manifest matchers): keep JBD ones, then ask to confirm."""
        await self.async_set_unique_id(discovery_info.address)
        self._abort_if_unique_id_configured()
        if not is_jbd_advertisement(discovery_info):
            return self.async_abort(reason="not_supported")
        self._jbd_discovery = discovery_info
        self.context["title_placeholders"] = {"name": discovery_info.name}
        return await self.async_step_bluetooth_confirm()

    async def async_step_bluetooth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm the discovered battery (and give its password if it has one)."""
        info = self._jbd_discovery
        assert info is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            password = user_input.get(CONF_PASSWORD) or None
            result = await self._async_probe_ble(info.address, info.name, password, errors)
            if result is not None:
                return result
        return self.async_show_form(
            step_id="bluetooth_confirm",
            data_schema=probatio.Schema(password_field()),
            description_placeholders={"name": info.name, "address": info.address},
            errors=errors,
        )

    async def _async_probe_serial(
        self, path: str, errors: dict[str, str]
    ) -> tuple[ProbeResult, str] | None:
        """Read 0x03 on `path`; (probe, unique id), or None with `errors` filled in."""
        try:
            probe = await async_probe_serial(self.hass, path)
        except ProbeError as err:
            errors["base"] = err.reason
            return None
        usb_serial = next((s for p, _l, s in await async_list_ports(self.hass) if p == path), None)
        return probe, f"jbd_{usb_serial or path}"

    async def async_step_jbd_serial(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick or type the serial port of a UART/RS485 adapter, and read the BMS."""
        errors: dict[str, str] = {}
        if user_input is not None:
            path = user_input[CONF_SERIAL_PORT].strip()
            found = await self._async_probe_serial(path, errors)
            if found is not None:
                probe, unique_id = found
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_configured(updates={CONF_SERIAL_PORT: path})
                return self.async_create_entry(
                    title=f"{probe.model or 'JBD battery'} {path.rsplit('/', 1)[-1]}",
                    data={
                        CONF_ENTRY_TYPE: EntryType.JBD.value,
                        CONF_TRANSPORT: TRANSPORT_SERIAL,
                        CONF_SERIAL_PORT: path,
                        **probe.entry_data(),
                    },
                    options=_default_options(None),
                )
        return self.async_show_form(
            step_id="jbd_serial", data_schema=await async_port_schema(self.hass), errors=errors
        )

    async def async_step_reconfigure_jbd(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Serial: move the battery to another port. Bluetooth: change the FF AA password."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        serial = entry.data.get(CONF_TRANSPORT) == TRANSPORT_SERIAL
        if user_input is not None:
            if serial:
                path = user_input[CONF_SERIAL_PORT].strip()
                if (found := await self._async_probe_serial(path, errors)) is not None:
                    return self.async_update_reload_and_abort(
                        entry, data_updates={CONF_SERIAL_PORT: path, **found[0].entry_data()}
                    )
            else:
                password = user_input.get(CONF_PASSWORD) or None
                try:
                    await async_probe_bluetooth(
                        self.hass, entry.data[CONF_ADDRESS], entry.title, password
                    )
                except ProbeError as err:
                    errors["base"] = err.reason
                else:
                    options = {k: v for k, v in entry.options.items() if k != CONF_PASSWORD}
                    if password:
                        options[CONF_PASSWORD] = password
                    return self.async_update_reload_and_abort(entry, options=options)
        if serial:
            schema = await async_port_schema(self.hass, default=entry.data[CONF_SERIAL_PORT])
        else:
            schema = probatio.Schema(password_field(entry.options.get(CONF_PASSWORD)))
        return self.async_show_form(
            step_id="reconfigure_jbd",
            data_schema=schema,
            errors=errors,
            description_placeholders={"name": entry.title},
        )


def _default_options(password: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        CONF_WRITE_INTERVAL: DEFAULT_WRITE_INTERVAL,
        CONF_POLL_INTERVAL: JBD_DEFAULT_POLL_INTERVAL,
    }
    if password:
        options[CONF_PASSWORD] = password
    return options

"""Bluetooth battery (aiobmsble families) config flow steps: discovery, confirm, pick, password.

Discovery: the manifest's `bluetooth` matchers are the library's own advertisement matchers
(scripts/gen_bluetooth_matchers.py writes them; a test keeps them equal). Home Assistant starts
one `async_step_bluetooth` per heard device, which this mixin routes, so that no battery is offered
twice: a JBD battery (our JBD name patterns and OUIs, or the library's JBD matchers: a JBD-based
rebrand) goes to the JBD battery steps (flows/jbd.py, our own protocol); a battery of another
library family is offered here (`ble_battery_confirm`); anything else goes to the JBD steps,
which abort it. The user step lists the heard batteries of the library's families (never JBD
ones). A family whose BMS takes a password (the library's `accept_secret`: ANT, Dometic,
123SmartBMS, ...) gets a password field; the others none.

Test-before-configure: the battery is read once (`sources.ble_battery.async_probe`) before the
entry is created, with distinct errors (not heard, cannot connect, password rejected, no answer,
bad data). unique_id = the Bluetooth address, shared with the JBD type, so one battery is never
set up twice. Options: poll interval, keep the connection, the password where the family takes
one. No control option: the library writes to no family (`supports_control`). Reconfigure and
reauth change the password (read again before it is saved).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components import bluetooth
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
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
)
import probatio

from ..const import (
    CONF_ENTRY_TYPE,
    CONF_WRITE_INTERVAL,
    DEFAULT_WRITE_INTERVAL,
    JBD_DEFAULT_POLL_INTERVAL,
    EntryType,
)
from ..sources.ble_battery import (
    CONF_FAMILY,
    JBD_FAMILY,
    accepts_password,
    async_probe,
    family_label,
    family_of,
)
from ..sources.errors import ProbeError
from ..sources.jbd import CONF_KEEP_CONNECTION, CONF_POLL_INTERVAL
from .jbd import (
    POLL_INTERVAL_MAX,
    POLL_INTERVAL_MIN,
    JBDFlowMixin,
    is_jbd_advertisement,
    password_field,
)

__all__ = ["BLEBatteryFlowMixin", "options_fields"]

#: probe error keys whose JBD wording does not fit other BMSes -> this type's own keys
_ERROR_KEYS = {"no_response": "ble_no_response", "bad_data": "ble_bad_data"}


def _label(info: BluetoothServiceInfoBleak, family: str) -> str:
    name = (info.name or "").strip() or info.address
    return f"{name} - {family_label(family)} ({info.address})"


def _title(name: str | None, family: str) -> str:
    return (name or "").strip() or family_label(family)


def options_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """BLE battery options beside the write interval: poll interval, keep the connection, and
    the password where the family takes one."""
    options = entry.options
    fields: dict[Any, Any] = {
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
        probatio.Required(
            CONF_KEEP_CONNECTION, default=options.get(CONF_KEEP_CONNECTION, True)
        ): BooleanSelector(),
    }
    if accepts_password(entry.data[CONF_FAMILY]):
        fields.update(password_field(options.get(CONF_PASSWORD)))
    return fields


class BLEBatteryFlowMixin(JBDFlowMixin):
    """The Bluetooth battery steps; routes Bluetooth discovery between this type and JBD."""

    _ble_address: str | None = None
    _ble_name: str | None = None
    _ble_family: str | None = None

    async def async_step_bluetooth(
        self, discovery_info: BluetoothServiceInfoBleak
    ) -> ConfigFlowResult:
        """A device was heard (manifest matchers): JBD to the JBD steps, another family here."""
        family = family_of(discovery_info.advertisement, discovery_info.address)
        if family is None or is_jbd_advertisement(discovery_info):
            return await super().async_step_bluetooth(discovery_info)
        await self.async_set_unique_id(discovery_info.address)
        self._abort_if_unique_id_configured()
        name = _title(discovery_info.name, family)
        self.context["title_placeholders"] = {"name": name}
        if family == JBD_FAMILY:  # a JBD rebrand our name patterns do not know: still JBD
            self._jbd_discovery = discovery_info
            return await self.async_step_bluetooth_confirm()
        self._ble_address, self._ble_name, self._ble_family = discovery_info.address, name, family
        return await self.async_step_ble_battery_confirm()

    async def async_step_ble_battery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm the discovered battery (and give its password if its family takes one)."""
        assert self._ble_family is not None and self._ble_address is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            result = await self._async_ble_create(user_input.get(CONF_PASSWORD) or None, errors)
            if result is not None:
                return result
        return self.async_show_form(
            step_id="ble_battery_confirm",
            data_schema=probatio.Schema(self._ble_password_fields()),
            description_placeholders={
                "name": str(self._ble_name),
                "address": self._ble_address,
                "family": family_label(self._ble_family),
            },
            errors=errors,
        )

    def _ble_password_fields(self) -> dict[Any, Any]:
        assert self._ble_family is not None
        return password_field() if accepts_password(self._ble_family) else {}

    def _ble_discovered(self) -> dict[str, tuple[str, str, str]]:
        """address -> (label, name, family) of heard batteries of a library family, not JBD,
        not yet set up."""
        configured = self._async_current_ids(include_ignore=False)
        found: dict[str, tuple[str, str, str]] = {}
        for info in bluetooth.async_discovered_service_info(self.hass, connectable=True):
            if info.address in configured or info.address in found:
                continue
            family = family_of(info.advertisement, info.address)
            if family is None or family == JBD_FAMILY or is_jbd_advertisement(info):
                continue
            found[info.address] = (_label(info, family), _title(info.name, family), family)
        return found

    async def async_step_ble_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick a battery of another BMS brand that the adapters or proxies hear."""
        discovered = self._ble_discovered()
        errors: dict[str, str] = {}
        if user_input is not None:
            address = user_input[CONF_ADDRESS]
            await self.async_set_unique_id(address, raise_on_progress=False)
            self._abort_if_unique_id_configured()
            if (found := discovered.get(address)) is None:  # it went quiet since the form
                errors["base"] = "not_in_range"
            else:
                _label, self._ble_name, self._ble_family = found
                self._ble_address = address
                if accepts_password(self._ble_family):
                    return await self.async_step_ble_battery_password()
                result = await self._async_ble_create(None, errors)
                if result is not None:
                    return result
        if not discovered:
            return self.async_abort(reason="ble_no_devices_found")
        schema = probatio.Schema(
            {
                probatio.Required(CONF_ADDRESS): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=address, label=found[0])
                            for address, found in sorted(
                                discovered.items(), key=lambda item: item[1][0]
                            )
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            }
        )
        return self.async_show_form(step_id="ble_battery", data_schema=schema, errors=errors)

    async def async_step_ble_battery_password(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The password of the chosen battery (its family takes one; empty: none set)."""
        assert self._ble_family is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            result = await self._async_ble_create(user_input.get(CONF_PASSWORD) or None, errors)
            if result is not None:
                return result
        return self.async_show_form(
            step_id="ble_battery_password",
            data_schema=probatio.Schema(password_field()),
            description_placeholders={
                "name": str(self._ble_name),
                "family": family_label(self._ble_family),
            },
            errors=errors,
        )

    async def _async_ble_probe(
        self, address: str, family: str, password: str | None, errors: dict[str, str]
    ) -> dict[str, Any] | None:
        """Read the battery; its entry data, or None with `errors` filled in."""
        try:
            probe = await async_probe(self.hass, address, family, password)
        except ProbeError as err:
            errors["base"] = _ERROR_KEYS.get(err.reason, err.reason)
            return None
        return probe.entry_data()

    async def _async_ble_create(
        self, password: str | None, errors: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Read the chosen battery and create its entry; None with `errors` filled in."""
        address, family = self._ble_address, self._ble_family
        assert address is not None and family is not None
        data = await self._async_ble_probe(address, family, password, errors)
        if data is None:
            return None
        options: dict[str, Any] = {
            CONF_WRITE_INTERVAL: DEFAULT_WRITE_INTERVAL,
            CONF_POLL_INTERVAL: JBD_DEFAULT_POLL_INTERVAL,
            CONF_KEEP_CONNECTION: True,
        }
        if password:
            options[CONF_PASSWORD] = password
        return self.async_create_entry(
            title=_title(self._ble_name, family),
            data={
                CONF_ENTRY_TYPE: EntryType.BLE_BATTERY.value,
                CONF_ADDRESS: address,
                **data,
                CONF_FAMILY: family,
            },
            options=options,
        )

    async def _async_ble_new_password(
        self, entry: ConfigEntry, user_input: dict[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Read the battery with the new password; save it and reload, or None with errors."""
        password = user_input.get(CONF_PASSWORD) or None
        data = await self._async_ble_probe(
            entry.data[CONF_ADDRESS], entry.data[CONF_FAMILY], password, errors
        )
        if data is None:
            return None
        options = {k: v for k, v in entry.options.items() if k != CONF_PASSWORD}
        if password:
            options[CONF_PASSWORD] = password
        return self.async_update_reload_and_abort(entry, data_updates=data, options=options)

    async def async_step_reconfigure_ble_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Read the battery again (a new password where the family takes one) and save."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            result = await self._async_ble_new_password(entry, user_input, errors)
            if result is not None:
                return result
        family = entry.data[CONF_FAMILY]
        fields = (
            password_field(entry.options.get(CONF_PASSWORD)) if accepts_password(family) else {}
        )
        return self.async_show_form(
            step_id="reconfigure_ble_battery",
            data_schema=probatio.Schema(fields),
            errors=errors,
            description_placeholders={"name": entry.title, "family": family_label(family)},
        )

    async def async_step_reauth_ble_battery(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """The BMS rejected the password: ask for the right one."""
        return await self.async_step_reauth_ble_battery_confirm()

    async def async_step_reauth_ble_battery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The new password; the battery is read with it before it is saved."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            result = await self._async_ble_new_password(entry, user_input, errors)
            if result is not None:
                return result
        return self.async_show_form(
            step_id="reauth_ble_battery_confirm",
            data_schema=probatio.Schema(password_field()),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

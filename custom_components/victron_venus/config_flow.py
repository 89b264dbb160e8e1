"""Config flow: one menu of entry types; each type's steps live in flows/<type>.py.

The options flow has one step per entry type (step id = the type: its own title and description in
strings.json). Every type has the recording policy (flows/recording.py) and the write interval
(the shortest time between two writes of an entity, and so two recorder rows); a type adds its own
fields through `options_fields(entry)` in flows/<type>.py, which may group them in sections (the
logbook's); the options are stored flat whatever the sections.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, OptionsFlowWithReload
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import NumberSelector, NumberSelectorConfig, NumberSelectorMode
import probatio

from .const import (
    CONF_WRITE_INTERVAL,
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    DEFAULT_WRITE_INTERVAL,
    DOMAIN,
    MAX_WRITE_INTERVAL,
    EntryType,
    entry_type,
)
from .flows import (
    bank as bank_flow,
    ble_battery as ble_battery_flow,
    jbd as jbd_flow,
    logbook as logbook_flow,
    vedirect as vedirect_flow,
    venus as venus_flow,
)
from .flows.bank import BankFlowMixin
from .flows.ble_battery import BLEBatteryFlowMixin
from .flows.jbd import JBDFlowMixin
from .flows.logbook import LogbookFlowMixin
from .flows.recording import recording_fields
from .flows.vedirect import VEDirectFlowMixin
from .flows.venus_discovery import VenusDiscoveryFlowMixin

#: the menu, in order: (entry type, its first step)
MENU: tuple[EntryType, ...] = (
    EntryType.VEDIRECT,
    EntryType.VENUS,
    EntryType.JBD,
    EntryType.BLE_BATTERY,
    EntryType.BANK,
    EntryType.LOGBOOK,
)

#: per entry type: the flows/ module whose `options_fields(entry)` gives the type's own options
#: (looked up when the form is built, so a field a module adds shows without a change here)
OPTION_MODULES: dict[EntryType, ModuleType] = {
    EntryType.VEDIRECT: vedirect_flow,
    EntryType.VENUS: venus_flow,
    EntryType.JBD: jbd_flow,
    EntryType.BLE_BATTERY: ble_battery_flow,
    EntryType.BANK: bank_flow,
    EntryType.LOGBOOK: logbook_flow,
}


def options_schema(entry: ConfigEntry) -> probatio.Schema:
    """The options form of `entry`: the recording policy, the write interval, then the fields of
    its type's `options_fields(entry)` (a type may group them in `section`s)."""
    current = entry.options.get(CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL)
    fields: dict[Any, Any] = {
        **recording_fields(entry),
        probatio.Required(CONF_WRITE_INTERVAL, default=current): NumberSelector(
            NumberSelectorConfig(
                min=0,
                max=MAX_WRITE_INTERVAL,
                step=1,
                mode=NumberSelectorMode.BOX,
                unit_of_measurement="s",
            )
        ),
    }
    # every flows/<type>.py has `options_fields` (looked up now, so a type's module can change it)
    extra: Callable[[ConfigEntry], dict[Any, Any]] = OPTION_MODULES[
        entry_type(entry)
    ].options_fields
    fields.update(extra(entry))
    return probatio.Schema(fields)


def flat_options(schema: probatio.Schema, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The options to store: `user_input` with each section's fields lifted to the top level
    (entry.options stays flat, as before the sections; a section left out gives its fields'
    defaults, which are the entry's values), the write interval an int."""
    sections = {str(k): part for k, part in schema.schema.items() if isinstance(part, section)}
    data: dict[str, Any] = {}
    for key, value in user_input.items():
        if key in sections:
            data.update(value or {})
        else:
            data[key] = value
    for key, part in sections.items():
        if key not in user_input:  # left out (an API answer): its fields keep their values
            data.update(part({}))
    data[CONF_WRITE_INTERVAL] = int(data[CONF_WRITE_INTERVAL])
    return data


class VictronVenusConfigFlow(
    VEDirectFlowMixin,
    VenusDiscoveryFlowMixin,  # the Venus GX steps and its SSDP discovery
    BLEBatteryFlowMixin,  # before JBD: it routes Bluetooth discovery between the two
    JBDFlowMixin,
    BankFlowMixin,
    LogbookFlowMixin,
    domain=DOMAIN,
):
    """Add a VE.Direct device, a Venus GX, a JBD battery, a battery bank or a logbook."""

    VERSION = CONFIG_ENTRY_VERSION
    MINOR_VERSION = CONFIG_ENTRY_MINOR_VERSION

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> VictronVenusOptionsFlow:
        """The options flow."""
        return VictronVenusOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to add."""
        return self.async_show_menu(step_id="user", menu_options=[t.value for t in MENU])

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Reconfigure: the entry type's own reconfigure step."""
        kind = entry_type(self._get_reconfigure_entry())
        step: Callable[[], Any] = getattr(self, f"async_step_reconfigure_{kind.value}")
        result: ConfigFlowResult = await step()
        return result

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Reauth (the entry's credentials were refused): the entry type's own reauth step."""
        kind = entry_type(self._get_reauth_entry())
        step: Callable[[Mapping[str, Any]], Any] = getattr(self, f"async_step_reauth_{kind.value}")
        result: ConfigFlowResult = await step(entry_data)
        return result


class VictronVenusOptionsFlow(OptionsFlowWithReload):
    """Options: one step per entry type (step id = the type, with its own title and description
    in strings.json): the recording policy, the write interval and the type's own options."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The entry type's own step."""
        step: Callable[[dict[str, Any] | None], Any] = getattr(
            self, f"async_step_{entry_type(self.config_entry).value}"
        )
        result: ConfigFlowResult = await step(user_input)
        return result

    async def _async_options(
        self, kind: EntryType, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Show the form of step `kind`, or store its input flat (the entry reloads with it)."""
        schema = options_schema(self.config_entry)
        if user_input is not None:
            return self.async_create_entry(data=flat_options(schema, user_input))
        return self.async_show_form(step_id=kind.value, data_schema=schema)

    async def async_step_vedirect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A VE.Direct device's options."""
        return await self._async_options(EntryType.VEDIRECT, user_input)

    async def async_step_venus(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A Venus GX's options."""
        return await self._async_options(EntryType.VENUS, user_input)

    async def async_step_jbd(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A JBD battery's options."""
        return await self._async_options(EntryType.JBD, user_input)

    async def async_step_ble_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A Bluetooth battery's options."""
        return await self._async_options(EntryType.BLE_BATTERY, user_input)

    async def async_step_bank(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A battery bank's options."""
        return await self._async_options(EntryType.BANK, user_input)

    async def async_step_logbook(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A logbook's options, in sections."""
        return await self._async_options(EntryType.LOGBOOK, user_input)

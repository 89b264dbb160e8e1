"""Config flow: one menu of entry types; each type's steps live in flows/<type>.py.

The options flow is shared: every entry type has the recording policy (flows/recording.py) and
the write interval (the shortest time between two writes of an entity, and so two recorder rows);
a type may add its own fields through `options_fields(entry)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, OptionsFlowWithReload
from homeassistant.core import callback
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

#: per entry type: extra option fields beside the write interval
OPTION_FIELDS: dict[EntryType, Callable[[ConfigEntry], dict[Any, Any]]] = {
    EntryType.JBD: jbd_flow.options_fields,
    EntryType.BLE_BATTERY: ble_battery_flow.options_fields,
    EntryType.BANK: bank_flow.options_fields,
    EntryType.VENUS: venus_flow.options_fields,
    EntryType.LOGBOOK: logbook_flow.options_fields,
}


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
    """Options: the write interval, plus the entry type's own options."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and store the options (the entry reloads to apply them)."""
        if user_input is not None:
            data = dict(user_input)
            data[CONF_WRITE_INTERVAL] = int(data[CONF_WRITE_INTERVAL])
            return self.async_create_entry(data=data)
        entry = self.config_entry
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
        extra = OPTION_FIELDS.get(entry_type(entry))
        if extra is not None:
            fields.update(extra(entry))
        return self.async_show_form(step_id="init", data_schema=probatio.Schema(fields))

"""Repair issues with a fix flow (Home Assistant's repairs platform).

`bank_member_missing`: a battery bank names a member battery whose config entry was deleted (a
JBD or Bluetooth battery entry, or the Venus GX entry of a GX battery service). The bank still
sets up (that member counts as unavailable, so the bank's values and charge limits wait for it)
and this issue asks the user to act; its fix flow replaces each deleted member by a battery the
bank does not have yet, or removes the deleted members when at least two batteries stay. The bank
raises the issue when it starts (sources/bank.py) and at once when a member entry is deleted
(`async_setup_bank_member_watch`); the issue goes away when the bank no longer misses a member.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.components.repairs.models import RepairsFlowResult
from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntry, ConfigEntryChange
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio

from .const import DOMAIN, EntryType, entry_type
from .flows.bank import MIN_MEMBERS, bank_candidates, bank_unique_id
from .sources.bank import (  # the issue is raised by the bank's source (re-exported here)
    CONF_CAPACITIES,
    CONF_MEMBERS,
    ISSUE_BANK_MEMBER_MISSING,
    async_check_bank_members,
    bank_issue_id,
    missing_members,
)

CONF_BATTERY = "battery"


@callback
def async_setup_bank_member_watch(hass: HomeAssistant) -> CALLBACK_TYPE:
    """Check every bank when an entry of this integration is deleted (a member may be gone),
    and drop the issue of a deleted bank."""

    @callback
    def _changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
        if change is not ConfigEntryChange.REMOVED or entry.domain != DOMAIN:
            return
        if entry_type(entry) is EntryType.BANK:
            ir.async_delete_issue(hass, DOMAIN, bank_issue_id(entry.entry_id))
            return
        for bank in hass.config_entries.async_entries(DOMAIN):
            if entry_type(bank) is EntryType.BANK:
                async_check_bank_members(hass, bank)

    return async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _changed)


class BankMemberFixFlow(RepairsFlow):
    """Replace each deleted member of a bank by another battery, or remove the deleted members."""

    def __init__(self, entry_id: str) -> None:
        """The fix flow of the bank with config entry id `entry_id`."""
        self._entry_id = entry_id
        self._missing: list[str] = []
        self._replacements: dict[str, str] = {}

    def _bank(self) -> ConfigEntry | None:
        return self.hass.config_entries.async_get_entry(self._entry_id)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Replace or remove (remove only when at least two batteries stay)."""
        bank = self._bank()
        if bank is None:
            return self.async_abort(reason="bank_gone")
        self._missing = missing_members(self.hass, bank)
        if not self._missing:  # fixed meanwhile (the battery came back, or reconfigured)
            return self.async_create_entry(data={})
        options = ["replace"]
        if len(bank.data[CONF_MEMBERS]) - len(self._missing) >= MIN_MEMBERS:
            options.append("remove")
        return self.async_show_menu(
            step_id="init",
            menu_options=options,
            description_placeholders={"bank": bank.title, "count": str(len(self._missing))},
        )

    async def async_step_replace(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """One form per deleted member: a battery the bank does not have yet."""
        bank = self._bank()
        if bank is None:
            return self.async_abort(reason="bank_gone")
        members: list[str] = bank.data[CONF_MEMBERS]
        ref = self._missing[len(self._replacements)]
        taken = set(members) | set(self._replacements.values())
        choices = {
            candidate: label
            for candidate, (label, _unique) in bank_candidates(self.hass).items()
            if candidate not in taken
        }
        errors: dict[str, str] = {}
        if user_input is not None:
            choice = user_input[CONF_BATTERY]
            if choice in choices:
                self._replacements[ref] = choice
                if len(self._replacements) < len(self._missing):
                    return await self.async_step_replace()
                return self._async_store(
                    bank, [self._replacements.get(member, member) for member in members]
                )
            errors[CONF_BATTERY] = "unknown_member"
        elif not choices:
            return self.async_abort(reason="no_battery")
        schema = probatio.Schema(
            {
                probatio.Required(CONF_BATTERY): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=value, label=label)
                            for value, label in choices.items()
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="replace",
            data_schema=schema,
            errors=errors,
            description_placeholders={"bank": bank.title, "position": str(members.index(ref) + 1)},
        )

    async def async_step_remove(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Confirm: the bank goes on with the batteries it still has."""
        bank = self._bank()
        if bank is None:
            return self.async_abort(reason="bank_gone")
        if user_input is not None:
            members = [m for m in bank.data[CONF_MEMBERS] if m not in self._missing]
            return self._async_store(bank, members)
        return self.async_show_form(
            step_id="remove",
            description_placeholders={"bank": bank.title, "count": str(len(self._missing))},
        )

    @callback
    def _async_store(self, bank: ConfigEntry, members: list[str]) -> RepairsFlowResult:
        """The bank with `members` (capacity overrides of members it no longer has dropped, its
        unique id made anew), reloaded; aborted (`same_batteries`) when another bank already has
        exactly these batteries (two entries may not share a unique id)."""
        unique_id = bank_unique_id(self.hass, members)
        for other in self.hass.config_entries.async_entries(DOMAIN):
            if other.unique_id == unique_id and other.entry_id != bank.entry_id:
                return self.async_abort(
                    reason="same_batteries", description_placeholders={"other": other.title}
                )
        capacities = {
            ref: value
            for ref, value in bank.data.get(CONF_CAPACITIES, {}).items()
            if ref in members
        }
        self.hass.config_entries.async_update_entry(
            bank,
            data={**bank.data, CONF_MEMBERS: members, CONF_CAPACITIES: capacities},
            unique_id=unique_id,
        )
        self.hass.config_entries.async_schedule_reload(bank.entry_id)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of one of our issues (only `bank_member_missing` has one)."""
    assert data is not None and issue_id.startswith(ISSUE_BANK_MEMBER_MISSING)
    return BankMemberFixFlow(str(data["entry_id"]))

"""Battery bank config flow steps: pick 2-4 JBD battery entries, series or parallel, capacities.

The bank does no I/O, so "test before configure" is the choice itself: two to four distinct JBD
battery entries of this integration. A second step takes an optional capacity override (Ah) per
battery. unique_id = "bank_" + the members' unique ids, sorted, so the same batteries cannot form
two banks. Options: the alert thresholds and the per-battery current maxima of the charge limits.
Reconfigure changes the members, the wiring, the name and the capacities.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import probatio

from ..const import (
    CONF_ENTRY_TYPE,
    CONF_WRITE_INTERVAL,
    DEFAULT_WRITE_INTERVAL,
    DOMAIN,
    EntryType,
    entry_type,
)
from ..sources.bank import (
    CONF_CAPACITIES,
    CONF_CELL_HIGH,
    CONF_CELL_LOW,
    CONF_IMBALANCE,
    CONF_MAX_CHARGE_CURRENT,
    CONF_MAX_DISCHARGE_CURRENT,
    CONF_MEMBERS,
    CONF_SOC_ALARM,
    CONF_SOC_WARNING,
    CONF_WIRING,
    PARALLEL,
    SERIES,
    Thresholds,
)

MIN_MEMBERS = 2
MAX_MEMBERS = 4
DEFAULT_NAME = "Battery bank"

#: option key -> (minimum, maximum, step, unit)
THRESHOLD_FIELDS: dict[str, tuple[float, float, float, str]] = {
    CONF_SOC_WARNING: (0, 100, 1, "%"),
    CONF_SOC_ALARM: (0, 100, 1, "%"),
    CONF_CELL_LOW: (2.0, 4.5, 0.01, "V"),
    CONF_CELL_HIGH: (2.0, 4.5, 0.01, "V"),
    CONF_IMBALANCE: (0.005, 1.0, 0.005, "V"),
    CONF_MAX_CHARGE_CURRENT: (0, 1000, 1, "A"),
    CONF_MAX_DISCHARGE_CURRENT: (0, 1000, 1, "A"),
}


def options_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """Bank options beside the update interval: alert thresholds and current maxima."""
    current = Thresholds.from_options(entry.options)
    return {
        probatio.Required(key, default=getattr(current, key)): NumberSelector(
            NumberSelectorConfig(
                min=low, max=high, step=step, mode=NumberSelectorMode.BOX, unit_of_measurement=unit
            )
        )
        for key, (low, high, step, unit) in THRESHOLD_FIELDS.items()
    }


def _capacity_key(index: int) -> str:
    return f"capacity_{index}"


class BankFlowMixin(ConfigFlow):
    """The battery bank steps of the integration's config flow."""

    _bank: dict[str, Any] | None = None

    def _jbd_entries(self) -> dict[str, ConfigEntry]:
        """entry id -> entry of every JBD battery of this integration."""
        return {
            entry.entry_id: entry
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry_type(entry) is EntryType.JBD
        }

    def _bank_schema(self, defaults: dict[str, Any]) -> probatio.Schema:
        batteries = self._jbd_entries()
        return probatio.Schema(
            {
                probatio.Required(CONF_NAME, default=defaults[CONF_NAME]): TextSelector(),
                probatio.Required(CONF_MEMBERS, default=defaults[CONF_MEMBERS]): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=entry_id, label=entry.title)
                            for entry_id, entry in batteries.items()
                        ],
                        multiple=True,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                probatio.Required(CONF_WIRING, default=defaults[CONF_WIRING]): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=SERIES, label="Series"),
                            SelectOptionDict(value=PARALLEL, label="Parallel"),
                        ],
                        mode=SelectSelectorMode.LIST,
                    )
                ),
            }
        )

    def _check_bank(self, user_input: dict[str, Any]) -> str | None:
        """The error key for a bad choice of members, or None."""
        members = list(dict.fromkeys(user_input[CONF_MEMBERS]))
        batteries = self._jbd_entries()
        if not MIN_MEMBERS <= len(members) <= MAX_MEMBERS:
            return "member_count"
        if any(member not in batteries for member in members):
            return "unknown_member"
        self._bank = {
            CONF_NAME: user_input[CONF_NAME].strip() or DEFAULT_NAME,
            CONF_MEMBERS: members,
            CONF_WIRING: user_input[CONF_WIRING],
        }
        return None

    def _bank_unique_id(self, members: list[str]) -> str:
        batteries = self._jbd_entries()
        return "bank_" + "_".join(sorted(str(batteries[m].unique_id) for m in members))

    async def async_step_bank(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the batteries and how they are wired."""
        if len(self._jbd_entries()) < MIN_MEMBERS:
            return self.async_abort(reason="bank_needs_batteries")
        errors: dict[str, str] = {}
        if user_input is not None:
            if (error := self._check_bank(user_input)) is None:
                assert self._bank is not None
                await self.async_set_unique_id(self._bank_unique_id(self._bank[CONF_MEMBERS]))
                self._abort_if_unique_id_configured()
                return await self.async_step_bank_capacity()
            errors["base"] = error
        defaults = {CONF_NAME: DEFAULT_NAME, CONF_MEMBERS: [], CONF_WIRING: PARALLEL}
        return self.async_show_form(
            step_id="bank", data_schema=self._bank_schema(defaults), errors=errors
        )

    async def async_step_bank_capacity(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Optional capacity overrides (Ah), one per battery."""
        bank = self._bank
        assert bank is not None
        members: list[str] = bank[CONF_MEMBERS]
        batteries = self._jbd_entries()
        if user_input is not None:
            capacities = {
                member: float(value)
                for index, member in enumerate(members, start=1)
                if (value := user_input.get(_capacity_key(index)))
            }
            data = {
                CONF_ENTRY_TYPE: EntryType.BANK.value,
                CONF_MEMBERS: members,
                CONF_WIRING: bank[CONF_WIRING],
                CONF_CAPACITIES: capacities,
            }
            if self.source == SOURCE_RECONFIGURE:
                return self.async_update_reload_and_abort(
                    self._get_reconfigure_entry(),
                    unique_id=self.unique_id,
                    title=bank[CONF_NAME],
                    data=data,
                )
            return self.async_create_entry(
                title=bank[CONF_NAME],
                data=data,
                options={CONF_WRITE_INTERVAL: DEFAULT_WRITE_INTERVAL},
            )
        old: dict[str, float] = bank.get(CONF_CAPACITIES, {})
        fields: dict[Any, Any] = {}
        lines = []
        for index, member in enumerate(members, start=1):
            key = _capacity_key(index)
            suggested = old.get(member)
            fields[
                probatio.Optional(key, description={"suggested_value": suggested})
                if suggested
                else probatio.Optional(key)
            ] = NumberSelector(
                NumberSelectorConfig(
                    min=0, max=10000, step=0.1, mode=NumberSelectorMode.BOX,
                    unit_of_measurement="Ah",
                )
            )  # fmt: skip
            lines.append(f"{index}. {batteries[member].title}")
        return self.async_show_form(
            step_id="bank_capacity",
            data_schema=probatio.Schema(fields),
            description_placeholders={"batteries": "\n".join(lines)},
        )

    async def async_step_reconfigure_bank(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the batteries, the wiring or the name; then the capacities."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            if (error := self._check_bank(user_input)) is None:
                assert self._bank is not None
                unique_id = self._bank_unique_id(self._bank[CONF_MEMBERS])
                await self.async_set_unique_id(unique_id)
                if unique_id != entry.unique_id:
                    self._abort_if_unique_id_configured()
                self._bank[CONF_CAPACITIES] = dict(entry.data.get(CONF_CAPACITIES, {}))
                return await self.async_step_bank_capacity()
            errors["base"] = error
        defaults = {
            CONF_NAME: entry.title,
            CONF_MEMBERS: [m for m in entry.data[CONF_MEMBERS] if m in self._jbd_entries()],
            CONF_WIRING: entry.data[CONF_WIRING],
        }
        return self.async_show_form(
            step_id="reconfigure_bank", data_schema=self._bank_schema(defaults), errors=errors
        )


BANK_DATA = {"name": "Name", "members": "Batteries", "wiring": "Wiring"}
BANK_DATA_DESCRIPTION = {
    "name": "The bank's device name, e.g. House bank.",
    "members": "Two to four JBD batteries set up in this integration.",
    "wiring": "Series: the batteries' voltages add (e.g. two 12 V batteries for 24 V). "
    "Parallel: their capacities and currents add.",
}

#: config-flow strings of these steps (merged into strings.json by scripts/gen_strings.py)
STRINGS: dict[str, Any] = {
    "menu": {"bank": "Battery bank (2-4 JBD batteries combined)"},
    "step": {
        "bank": {
            "title": "Battery bank",
            "description": "Combine JBD batteries into one virtual battery, wired as they are.",
            "data": BANK_DATA,
            "data_description": BANK_DATA_DESCRIPTION,
        },
        "bank_capacity": {
            "title": "Battery capacities",
            "description": "Leave a field empty to use the capacity the BMS reports. Give the "
            "real capacity (Ah) of a battery whose BMS is set up wrong or that has aged:\n"
            "{batteries}",
            "data": {f"capacity_{n}": f"Battery {n} capacity" for n in range(1, 5)},
            "data_description": {
                f"capacity_{n}": f"Capacity of battery {n} in Ah (empty: the BMS value)."
                for n in range(1, 5)
            },
        },
        "reconfigure_bank": {
            "title": "Reconfigure the battery bank",
            "description": "Change the batteries, how they are wired, or the name.",
            "data": BANK_DATA,
            "data_description": BANK_DATA_DESCRIPTION,
        },
    },
    "error": {
        "member_count": "Choose two to four batteries.",
        "unknown_member": "One of the chosen batteries no longer exists.",
    },
    "abort": {
        "bank_needs_batteries": "Set up at least two JBD batteries first (JBD battery in the "
        "menu).",
    },
}

OPTIONS_STRINGS: dict[str, Any] = {
    "data": {
        "soc_warning": "Low state of charge warning",
        "soc_alarm": "Low state of charge alarm",
        "cell_low": "Cell voltage low limit",
        "cell_high": "Cell voltage high limit",
        "imbalance": "Cell imbalance limit",
        "max_charge_current": "Maximum charge current per battery",
        "max_discharge_current": "Maximum discharge current per battery",
    },
    "data_description": {
        "soc_warning": "Battery banks: alert when the bank's state of charge is below this (%).",
        "soc_alarm": "Battery banks: alarm when the bank's state of charge is below this (%).",
        "cell_low": "Battery banks: alert when any cell is below this (V; LiFePO4: 2.9). Also "
        "the floor of the maximum charge voltage.",
        "cell_high": "Battery banks: alert when any cell is above this (V; LiFePO4: 3.45). Also "
        "the per-cell target of the maximum charge voltage.",
        "imbalance": "Battery banks: alert when cells differ by more than this (V). Series: "
        "over all cells; parallel: inside one battery.",
        "max_charge_current": "Battery banks: the most one battery may be charged with (A), "
        "before derating near full cells and at low temperature.",
        "max_discharge_current": "Battery banks: the most one battery may deliver (A), before "
        "derating near empty cells and at extreme temperatures.",
    },
}

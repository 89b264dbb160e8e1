"""Battery bank config flow steps: two or more batteries of any kind, series or parallel.

Members (sources/bank.py), mixed freely: JBD and Bluetooth battery entries of this integration and
the battery services of its Venus GX entries, chosen from a list; and batteries Home Assistant
already has from any integration, given as entities, one step each (voltage, current and state of
charge required; power, capacities, temperature and lowest/highest cell voltage optional). The
bank does no I/O, so "test before configure" is the choice itself: at least two distinct members
(at most `MAX_MEMBERS`), every chosen entity present. A last step takes an optional capacity
override (Ah) per battery. unique_id = "bank_" + the members' unique ids (a GX service's
identifier, "entities_" + an entity battery's voltage entity), sorted, so the same batteries cannot
form two banks. Options: the alert thresholds and the per-battery current maxima of the charge
limits. Reconfigure changes the members, the wiring, the name and the capacities.
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
from homeassistant.core import HomeAssistant, async_get_hass
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
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
    CONF_ENTITY_BATTERIES,
    CONF_IMBALANCE,
    CONF_MAX_CHARGE_CURRENT,
    CONF_MAX_DISCHARGE_CURRENT,
    CONF_MEMBERS,
    CONF_SOC_ALARM,
    CONF_SOC_WARNING,
    CONF_WIRING,
    ENTITIES_PREFIX,
    ENTITY_KEYS,
    GX_PATHS,
    PARALLEL,
    REQUIRED_KEYS,
    SERIES,
    VENUS_PREFIX,
    Thresholds,
    parse_venus_ref,
)
from ..sources.bank_gx import CONF_GX_LIMITS

MIN_MEMBERS = 2
#: no practical bank has more; the capacity step names this many fields
MAX_MEMBERS = 16
DEFAULT_NAME = "Battery bank"
#: bank step field: how many batteries are given as Home Assistant entities
CONF_ENTITY_COUNT = "entity_batteries"
#: the battery types of this integration a bank takes by entry
BATTERY_TYPES = (EntryType.JBD, EntryType.BLE_BATTERY)
#: a GX battery service's device identifier: "<portal id>_battery_<instance>"
GX_BATTERY = "_battery_"

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
    fields: dict[Any, Any] = {
        probatio.Required(key, default=getattr(current, key)): NumberSelector(
            NumberSelectorConfig(
                min=low, max=high, step=step, mode=NumberSelectorMode.BOX, unit_of_measurement=unit
            )
        )
        for key, (low, high, step, unit) in THRESHOLD_FIELDS.items()
    }
    fields.update(gx_limits_fields(entry))  # issue 10
    return fields


def bank_candidates(hass: HomeAssistant) -> dict[str, tuple[str, str]]:
    """member reference -> (label, unique part) of every battery a bank can take by choice:
    JBD and Bluetooth battery entries, and the battery services of Venus GX entries."""
    found: dict[str, tuple[str, str]] = {}
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        kind = entry_type(entry)
        if kind in BATTERY_TYPES:
            found[entry.entry_id] = (entry.title, str(entry.unique_id))
        elif kind is EntryType.VENUS:
            for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
                for domain, identifier in device.identifiers:
                    if domain != DOMAIN or GX_BATTERY not in identifier:
                        continue
                    voltage = f"{identifier}_{GX_PATHS['voltage']}"
                    if entities.async_get_entity_id("sensor", DOMAIN, voltage) is None:
                        continue
                    name = device.name_by_user or device.name or identifier
                    ref = f"{VENUS_PREFIX}{entry.entry_id}:{identifier}"
                    found[ref] = (f"{entry.title}: {name}", identifier)
    return found


def bank_unique_id(hass: HomeAssistant, refs: list[str]) -> str:
    """A bank's unique id from its member references: "bank_" + the members' unique parts
    (a battery entry's unique id, a GX battery service's identifier, "entities_" + an entity
    battery's voltage entity), sorted, as the config flow makes it. Raises KeyError for a battery
    entry that does not exist."""
    parts = []
    for ref in refs:
        if ref.startswith(ENTITIES_PREFIX):
            parts.append(f"entities_{ref.removeprefix(ENTITIES_PREFIX)}")
        elif ref.startswith(VENUS_PREFIX):
            parts.append(parse_venus_ref(ref)[1])
        elif (entry := hass.config_entries.async_get_entry(ref)) is not None:
            parts.append(str(entry.unique_id))
        else:
            raise KeyError(ref)
    return "bank_" + "_".join(sorted(parts))


def _capacity_key(index: int) -> str:
    return f"capacity_{index}"


def _entity_field(key: str, required: bool, default: str | None) -> dict[Any, Any]:
    marker: Any = probatio.Required if required else probatio.Optional
    field = marker(key, description={"suggested_value": default}) if default else marker(key)
    return {field: EntitySelector(EntitySelectorConfig(domain="sensor"))}


class BankFlowMixin(ConfigFlow):
    """The battery bank steps of the integration's config flow."""

    _bank: dict[str, Any] | None = None

    def _bank_candidates(self) -> dict[str, tuple[str, str]]:
        """The batteries a bank can take by choice (`bank_candidates`)."""
        return bank_candidates(self.hass)

    def _bank_schema(self, defaults: dict[str, Any]) -> probatio.Schema:
        batteries = self._bank_candidates()
        return probatio.Schema(
            {
                probatio.Required(CONF_NAME, default=defaults[CONF_NAME]): TextSelector(),
                probatio.Optional(CONF_MEMBERS, default=defaults[CONF_MEMBERS]): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=ref, label=label)
                            for ref, (label, _unique) in batteries.items()
                        ],
                        multiple=True,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                probatio.Optional(
                    CONF_ENTITY_COUNT, default=defaults[CONF_ENTITY_COUNT]
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=0, max=MAX_MEMBERS, step=1, mode=NumberSelectorMode.BOX
                    )
                ),
                probatio.Required(CONF_WIRING, default=defaults[CONF_WIRING]): SelectSelector(
                    SelectSelectorConfig(
                        options=[SERIES, PARALLEL],
                        translation_key="wiring",
                        mode=SelectSelectorMode.LIST,
                    )
                ),
            }
        )

    def _bank_defaults(
        self, user_input: dict[str, Any], fallback: dict[str, Any]
    ) -> dict[str, Any]:
        """The form's values after an error: what the user gave (the ticked batteries that are
        still candidates, the name, the entity-battery count, the wiring), else `fallback`."""
        candidates = self._bank_candidates()
        return {
            CONF_NAME: user_input.get(CONF_NAME, fallback[CONF_NAME]),
            CONF_MEMBERS: [
                m for m in dict.fromkeys(user_input.get(CONF_MEMBERS, [])) if m in candidates
            ],
            CONF_ENTITY_COUNT: user_input.get(CONF_ENTITY_COUNT, fallback[CONF_ENTITY_COUNT]),
            CONF_WIRING: user_input.get(CONF_WIRING, fallback[CONF_WIRING]),
        }

    def _check_bank(self, user_input: dict[str, Any]) -> str | None:
        """The error key for a bad choice of members, or None."""
        members = list(dict.fromkeys(user_input.get(CONF_MEMBERS, [])))
        count = int(user_input.get(CONF_ENTITY_COUNT) or 0)
        if not MIN_MEMBERS <= len(members) + count <= MAX_MEMBERS:
            return "member_count"
        if any(member not in self._bank_candidates() for member in members):
            return "unknown_member"
        old: dict[str, Any] = self._bank or {}
        self._bank = {
            CONF_NAME: user_input[CONF_NAME].strip() or DEFAULT_NAME,
            CONF_MEMBERS: members,
            CONF_WIRING: user_input[CONF_WIRING],
            CONF_ENTITY_COUNT: count,
            "entity_specs": [],
            "old_entity_specs": old.get("old_entity_specs", []),
            CONF_CAPACITIES: old.get(CONF_CAPACITIES, {}),
        }
        return None

    def _bank_unique_id(self, members: list[str], entity_specs: list[dict[str, Any]]) -> str:
        batteries = self._bank_candidates()
        parts = [batteries[m][1] for m in members]
        parts += [f"entities_{spec['voltage']}" for spec in entity_specs]
        return "bank_" + "_".join(sorted(parts))

    async def _async_bank_chosen(self) -> ConfigFlowResult:
        """Members chosen: the entity batteries next, then the capacities."""
        assert self._bank is not None
        if self._bank[CONF_ENTITY_COUNT]:
            return await self.async_step_bank_entities()
        return await self._async_bank_identified()

    async def _async_bank_identified(self) -> ConfigFlowResult:
        """Every member known: the bank's unique id (not twice), then the capacities."""
        bank = self._bank
        assert bank is not None
        unique_id = self._bank_unique_id(bank[CONF_MEMBERS], bank["entity_specs"])
        await self.async_set_unique_id(unique_id)
        if (
            self.source != SOURCE_RECONFIGURE
            or unique_id != self._get_reconfigure_entry().unique_id
        ):
            self._abort_if_unique_id_configured()
        return await self.async_step_bank_capacity()

    async def async_step_bank(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the batteries and how they are wired."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if (error := self._check_bank(user_input)) is None:
                return await self._async_bank_chosen()
            errors["base"] = error
        defaults = {
            CONF_NAME: DEFAULT_NAME,
            CONF_MEMBERS: [],
            CONF_ENTITY_COUNT: 0,
            CONF_WIRING: PARALLEL,
        }
        if user_input is not None:
            defaults = self._bank_defaults(user_input, defaults)
        return self.async_show_form(
            step_id="bank", data_schema=self._bank_schema(defaults), errors=errors
        )

    async def async_step_bank_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One battery Home Assistant already has, given as its entities (one step each)."""
        bank = self._bank
        assert bank is not None
        specs: list[dict[str, Any]] = bank["entity_specs"]
        index = len(specs) + 1
        old: list[dict[str, Any]] = bank["old_entity_specs"]
        default = old[index - 1] if index <= len(old) else {}
        errors: dict[str, str] = {}
        if user_input is not None:
            spec = {k: v for k, v in user_input.items() if v}
            spec[CONF_NAME] = str(spec.get(CONF_NAME, "")).strip() or f"Battery {index}"
            taken = {s["voltage"] for s in specs}
            for key in ENTITY_KEYS:
                if key in spec and self.hass.states.get(spec[key]) is None:
                    errors[key] = "entity_not_found"
            if spec["voltage"] in taken:
                errors["voltage"] = "entity_taken"
            if not errors:
                specs.append(spec)
                if len(specs) < bank[CONF_ENTITY_COUNT]:
                    return await self.async_step_bank_entities()
                return await self._async_bank_identified()
            default = user_input
        fields: dict[Any, Any] = {
            probatio.Optional(
                CONF_NAME, default=default.get(CONF_NAME) or f"Battery {index}"
            ): TextSelector()
        }
        for key in ENTITY_KEYS:
            fields.update(_entity_field(key, key in REQUIRED_KEYS, default.get(key)))
        return self.async_show_form(
            step_id="bank_entities",
            data_schema=probatio.Schema(fields),
            errors=errors,
            description_placeholders={
                "index": str(index),
                "count": str(bank[CONF_ENTITY_COUNT]),
            },
        )

    async def async_step_bank_capacity(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Optional capacity overrides (Ah), one per battery."""
        bank = self._bank
        assert bank is not None
        specs: list[dict[str, Any]] = bank["entity_specs"]
        refs: list[str] = bank[CONF_MEMBERS] + [
            f"{ENTITIES_PREFIX}{spec['voltage']}" for spec in specs
        ]
        candidates = self._bank_candidates()
        labels = [candidates[m][0] for m in bank[CONF_MEMBERS]] + [s[CONF_NAME] for s in specs]
        if user_input is not None:
            capacities = {
                ref: float(value)
                for index, ref in enumerate(refs, start=1)
                if (value := user_input.get(_capacity_key(index)))
            }
            data: dict[str, Any] = {
                CONF_ENTRY_TYPE: EntryType.BANK.value,
                CONF_MEMBERS: refs,
                CONF_WIRING: bank[CONF_WIRING],
                CONF_CAPACITIES: capacities,
            }
            if specs:
                data[CONF_ENTITY_BATTERIES] = {spec["voltage"]: dict(spec) for spec in specs}
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
        for index, (ref, label) in enumerate(zip(refs, labels, strict=True), start=1):
            key = _capacity_key(index)
            suggested = old.get(ref)
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
            lines.append(f"{index}. {label}")
        return self.async_show_form(
            step_id="bank_capacity",
            data_schema=probatio.Schema(fields),
            description_placeholders={"batteries": "\n".join(lines)},
        )

    async def async_step_reconfigure_bank(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the batteries, the wiring or the name; then the entity batteries, capacities."""
        entry = self._get_reconfigure_entry()
        batteries: dict[str, dict[str, Any]] = entry.data.get(CONF_ENTITY_BATTERIES, {})
        old_specs = [
            batteries[ref.removeprefix(ENTITIES_PREFIX)]
            for ref in entry.data[CONF_MEMBERS]
            if ref.startswith(ENTITIES_PREFIX) and ref.removeprefix(ENTITIES_PREFIX) in batteries
        ]
        errors: dict[str, str] = {}
        if user_input is not None:
            self._bank = {
                "old_entity_specs": old_specs,
                CONF_CAPACITIES: dict(entry.data.get(CONF_CAPACITIES, {})),
            }
            if (error := self._check_bank(user_input)) is None:
                return await self._async_bank_chosen()
            errors["base"] = error
        candidates = self._bank_candidates()
        defaults = {
            CONF_NAME: entry.title,
            CONF_MEMBERS: [m for m in entry.data[CONF_MEMBERS] if m in candidates],
            CONF_ENTITY_COUNT: len(old_specs),
            CONF_WIRING: entry.data[CONF_WIRING],
        }
        if user_input is not None:
            defaults = self._bank_defaults(user_input, defaults)
        return self.async_show_form(
            step_id="reconfigure_bank", data_schema=self._bank_schema(defaults), errors=errors
        )


# --- issue 10: send the bank's charge limits to a GX (sources/bank_gx.py) ---


def gx_limits_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """The option "Send charge limits to a GX": one of the Venus GX entries, or none (off)."""
    hass = async_get_hass()
    choices = [
        SelectOptionDict(value=gx.entry_id, label=gx.title)
        for gx in hass.config_entries.async_entries(DOMAIN)
        if entry_type(gx) is EntryType.VENUS
    ]
    current = entry.options.get(CONF_GX_LIMITS)
    key = probatio.Optional(
        CONF_GX_LIMITS, description={"suggested_value": current} if current else None
    )
    return {
        key: SelectSelector(SelectSelectorConfig(options=choices, mode=SelectSelectorMode.DROPDOWN))
    }

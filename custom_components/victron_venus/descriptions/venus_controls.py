"""Venus GX control rows: what a GX lets Home Assistant set, one row per writable D-Bus path.

Each row names the path it writes (its key), the value mapping and the limits; it becomes an
entity only when the GX publishes that path (and only with the entry's Control option on).
Writes go to ``W/<portal>/<service>/<instance>/<path>`` with ``{"value": X}`` (protocols.md §3.5)
and count once the GX publishes the value back on the ``N/`` topic.

Two kinds of tables:

* per service type (`DEVICE_CONTROLS`): rows of a device's own service, keyed by the D-Bus path
  in that service (``Mode``, ``Ac/In/1/CurrentLimit``) - the Multi/Quattro (``vebus``), the
  Multi RS (``multi``), Phoenix inverters, AC chargers, solar chargers, DC-DC converters and EV
  chargers;
* the GX's own controls (`GX_CONTROLS`), on the GX device: paths of the ``settings``,
  ``system`` and ``generator`` services, keyed by the whole ``<type>/<instance>/<path>``
  (``settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit``, ``system/0/Relay/0/State``).

Switchable outputs (``switch`` services, Venus OS >= 3.50) have one row per output, made from
the service's data when its device is created (`switch_rows`): the output's id is in its paths.

Sources of the paths and their values: the Victron D-Bus documentation (venus wiki "dbus":
vebus ``/Mode`` 1 charger only, 2 inverter only, 3 on, 4 off and ``/ModeIsAdjustable``;
``/Ac/In/n/CurrentLimit`` with ``/Ac/In/n/CurrentLimitIsAdjustable``; ``/Hub4/L1/AcPowerSetpoint``;
solar charger / charger ``/Mode`` 1 on, 4 off; Phoenix inverter ``/Mode`` 2 on, 4 off, 5 eco;
``/Settings/CGwacs/...`` for ESS; ``/Settings/SystemSetup/MaxChargeCurrent`` / ``MaxChargeVoltage``
for DVCC; ``/Settings/Relay/Function`` 2 = manual; generator ``/ManualStart``,
``/ManualStartTimer``; EV charger ``/Mode``, ``/SetCurrent``, ``/MaxCurrent``, ``/StartStop``),
the dbus-flashmq README (writes, settings items published with ``min`` / ``max``), the boat
recording in ../shared/fixtures/venus_mqtt (which paths a real GX publishes) and, for which
paths are worth a control, Home Assistant core's victron_gx (victron-mqtt's topic table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from homeassistant.components.number import NumberDeviceClass, NumberMode
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfPower,
)

from ..control import (
    VictronButtonEntityDescription,
    VictronControlEntityDescription,
    VictronNumberEntityDescription,
    VictronSelectEntityDescription,
    VictronSwitchEntityDescription,
    VictronTimeEntityDescription,
    option_of,
    seconds_to_time,
    time_to_seconds,
)
from ..coordinator import DeviceData

CONFIG: Final = EntityCategory.CONFIG

# --- code tables ----------------------------------------------------------------------------------

INVERTER_CHARGER_MODES: Final = {
    "charger_only": 1,
    "inverter_only": 2,
    "on": 3,
    "off": 4,
}
"""``vebus`` / ``multi`` ``/Mode`` (the switch position)."""
INVERTER_MODES: Final = {"on": 2, "off": 4, "eco": 5}
"""Phoenix inverter (``inverter``) ``/Mode``."""
ESS_MODES: Final = {
    "optimized_with_battery_life": 1,
    "optimized_without_battery_life": 10,
    "keep_batteries_charged": 9,
}
"""``Settings/CGwacs/BatteryLife/State`` as the GX's ESS menu sets it: the state written per
mode; the GX then moves through the mode's states (`ESS_MODE_STATES`)."""
ESS_MODE_STATES: Final[dict[int, str]] = {
    **dict.fromkeys(range(1, 9), "optimized_with_battery_life"),
    9: "keep_batteries_charged",
    **dict.fromkeys(range(10, 13), "optimized_without_battery_life"),
}
"""BatteryLife states (1-12) -> ESS mode: 1-8 are BatteryLife's own, 9 keep charged, 10-12
optimised without BatteryLife."""
ESS_CONTROL_MODES: Final = {
    "total_of_all_phases": 1,
    "individual_phase": 2,
    "external_control": 3,
}
"""``Settings/CGwacs/Hub4Mode``."""
EV_CHARGER_MODES: Final = {"manual": 0, "auto": 1, "scheduled": 2}
"""``evcharger`` ``/Mode``."""

#: the extra (non-device) service types a GX with Control on follows: their devices carry
#: control rows only
CONTROL_SERVICE_TYPES: Final = frozenset({"switch", "evcharger"})
#: the services whose paths make up the GX's own controls
GX_SERVICES: Final = ("system/0", "settings/0", "generator/0")


# --- value functions ------------------------------------------------------------------------------


def _flag(key: str, wanted: int = 1) -> Callable[[DeviceData], bool]:
    """True when `key` holds `wanted` (a D-Bus 0/1 flag, as int, float or bool)."""

    def check(data: DeviceData) -> bool:
        value: Any = data.get(key)
        return type(value) in (int, float, bool) and int(value) == wanted

    return check


def _not_zero(key: str) -> Callable[[DeviceData], bool]:
    """True unless `key` holds 0 (a missing flag allows)."""

    def check(data: DeviceData) -> bool:
        value: Any = data.get(key)
        return not (type(value) in (int, float, bool) and int(value) == 0)

    return check


def _is_on(key: str, on: Any = 1) -> Callable[[DeviceData], bool | None]:
    def value(data: DeviceData) -> bool | None:
        raw: Any = data.get(key)
        if type(raw) not in (int, float, bool):
            return None
        return int(raw) == int(on)

    return value


def _number(key: str) -> Callable[[DeviceData], float | int | None]:
    def value(data: DeviceData) -> float | int | None:
        raw = data.get(key)
        return raw if type(raw) in (int, float) else None

    return value


def _present(key: str, *also: Callable[[DeviceData], bool]) -> Callable[[DeviceData], bool]:
    """The path has a value (and every check in `also` holds)."""

    def exists(data: DeviceData) -> bool:
        return data.get(key) is not None and all(check(data) for check in also)

    return exists


def _inverter_charger_options(data: DeviceData) -> Sequence[str]:
    """The modes a Multi allows: a VE.Bus inverter without AC input (a Phoenix on VE.Bus,
    ``Ac/NumberOfAcInputs`` 0) has no charger, so only on and off."""
    if data.get("Ac/NumberOfAcInputs") == 0:
        return ("on", "off")
    return tuple(INVERTER_CHARGER_MODES)


def _ess_accept(value: Any) -> frozenset[Any]:
    """Every BatteryLife state of the ESS mode whose state `value` is written."""
    mode = ESS_MODE_STATES.get(value)
    return frozenset(state for state, name in ESS_MODE_STATES.items() if name == mode)


# --- row builders ---------------------------------------------------------------------------------


def number(
    key: str,
    translation_key: str,
    unit: str | None,
    device_class: NumberDeviceClass | None,
    *,
    low: float | None = None,
    high: float | None = None,
    step: float = 1.0,
    integer: bool = True,
    device_limits: bool = True,
    max_key: str | None = None,
    category: EntityCategory | None = CONFIG,
    writable: Callable[[DeviceData], bool] | None = None,
    exists: Callable[[DeviceData], bool] | None = None,
    placeholders: Mapping[str, str] | None = None,
) -> VictronNumberEntityDescription:
    """A number row over `key` (limits: what the GX reports, else `max_key`, else low/high)."""
    return VictronNumberEntityDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        native_unit_of_measurement=unit,
        device_class=device_class,
        native_min_value=low,
        native_max_value=high,
        native_step=step,
        mode=NumberMode.BOX,
        entity_category=category,
        value_fn=_number(key),
        exists_fn=exists or _present(key),
        writable_fn=writable,
        device_limits=device_limits,
        max_key=max_key,
        integer=integer,
    )


def select(
    key: str,
    translation_key: str,
    codes: Mapping[str, Any],
    *,
    read: Mapping[Any, str] | None = None,
    category: EntityCategory | None = None,
    options_fn: Callable[[DeviceData], Sequence[str]] | None = None,
    accept_fn: Callable[[Any], frozenset[Any]] | None = None,
    writable: Callable[[DeviceData], bool] | None = None,
    exists: Callable[[DeviceData], bool] | None = None,
) -> VictronSelectEntityDescription:
    """A select row: `codes` option -> value written; `read` value -> option (default the
    inverse of `codes`)."""
    reader = option_of(read if read is not None else {v: k for k, v in codes.items()})
    return VictronSelectEntityDescription(
        key=key,
        translation_key=translation_key,
        options=list(codes),
        codes=dict(codes),
        entity_category=category,
        value_fn=lambda data: reader(data.get(key)),
        exists_fn=exists or _present(key),
        options_fn=options_fn,
        accept_fn=accept_fn,
        writable_fn=writable,
    )


def switch(
    key: str,
    translation_key: str,
    *,
    on: Any = 1,
    off: Any = 0,
    category: EntityCategory | None = None,
    writable: Callable[[DeviceData], bool] | None = None,
    exists: Callable[[DeviceData], bool] | None = None,
    placeholders: Mapping[str, str] | None = None,
) -> VictronSwitchEntityDescription:
    """A switch row: on while `key` holds `on`; writes `on` / `off`."""
    return VictronSwitchEntityDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        entity_category=category,
        on_value=on,
        off_value=off,
        value_fn=_is_on(key, on),
        exists_fn=exists or _present(key),
        writable_fn=writable,
    )


def _mode_switch(translation_key: str) -> VictronSwitchEntityDescription:
    """``/Mode`` of a solar charger, AC charger or DC-DC converter: 1 on, 4 off."""
    return switch("Mode", translation_key, on=1, off=4)


# --- tables per service type ----------------------------------------------------------------------

INVERTER_CHARGER_CONTROLS: tuple[VictronControlEntityDescription, ...] = (
    select(
        "Mode",
        "inverter_charger_mode",
        INVERTER_CHARGER_MODES,
        options_fn=_inverter_charger_options,
        writable=_not_zero("ModeIsAdjustable"),
        exists=_present("Mode", _not_zero("ModeIsAdjustable")),
    ),
    *(
        number(
            f"Ac/In/{n}/CurrentLimit",
            "ac_input_current_limit",
            UnitOfElectricCurrent.AMPERE,
            NumberDeviceClass.CURRENT,
            low=0,
            high=100,
            step=0.1,
            integer=False,
            category=None,
            writable=_flag(f"Ac/In/{n}/CurrentLimitIsAdjustable"),
            exists=_present(
                f"Ac/In/{n}/CurrentLimit", _flag(f"Ac/In/{n}/CurrentLimitIsAdjustable")
            ),
            placeholders={"input": str(n)},
        )
        for n in (1, 2)
    ),
    *(
        number(
            f"Hub4/{phase}/AcPowerSetpoint",
            "ess_ac_power_setpoint",
            UnitOfPower.WATT,
            NumberDeviceClass.POWER,
            low=-100_000,
            high=100_000,
            category=None,
            placeholders={"phase": phase},
        )
        for phase in ("L1", "L2", "L3")
    ),
    number(
        "Settings/AssistCurrentBoostFactor",
        "assist_current_boost_factor",
        None,
        None,
        low=0.25,
        high=3.5,
        step=0.05,
        integer=False,
    ),
    switch("Hub4/DisableCharge", "ess_disable_charge", category=CONFIG),
    switch("Hub4/DisableFeedIn", "ess_disable_feed_in", category=CONFIG),
    number(
        "Ess/AcPowerSetpoint",
        "ess_ac_power_setpoint_total",
        UnitOfPower.WATT,
        NumberDeviceClass.POWER,
        low=-100_000,
        high=100_000,
        category=None,
    ),
)
"""Multi/Quattro (``vebus``) and Multi RS (``multi``). The PowerAssist boost factor's static
range is victron-mqtt's (0.25-3.5); the GX's own min/max win when it publishes them."""

INVERTER_CONTROLS: tuple[VictronControlEntityDescription, ...] = (
    select("Mode", "inverter_mode", INVERTER_MODES),
)
CHARGER_CONTROLS: tuple[VictronControlEntityDescription, ...] = (_mode_switch("charger_on"),)
SOLAR_CONTROLS: tuple[VictronControlEntityDescription, ...] = (_mode_switch("solar_charger_on"),)
DCDC_CONTROLS: tuple[VictronControlEntityDescription, ...] = (_mode_switch("dcdc_on"),)

EV_CHARGER_CONTROLS: tuple[VictronControlEntityDescription, ...] = (
    select("Mode", "ev_charger_mode", EV_CHARGER_MODES),
    number(
        "SetCurrent",
        "ev_charger_current",
        UnitOfElectricCurrent.AMPERE,
        NumberDeviceClass.CURRENT,
        low=0,
        high=32,
        max_key="MaxCurrent",
        category=None,
    ),
    switch("StartStop", "ev_charger_charging"),
)

DEVICE_CONTROLS: dict[str, tuple[VictronControlEntityDescription, ...]] = {
    "vebus": INVERTER_CHARGER_CONTROLS,
    "multi": INVERTER_CHARGER_CONTROLS,
    "inverter": INVERTER_CONTROLS,
    "charger": CHARGER_CONTROLS,
    "solarcharger": SOLAR_CONTROLS,
    "dcdc": DCDC_CONTROLS,
    "evcharger": EV_CHARGER_CONTROLS,
}
"""Control rows per service type (paths within the device's own service)."""

# --- the GX's own controls (settings, system, generator) -----------------------------------------

_CGWACS = "settings/0/Settings/CGwacs"
_SETUP = "settings/0/Settings/SystemSetup"
_RELAY_FUNCTION = {
    0: "settings/0/Settings/Relay/Function",
    1: "settings/0/Settings/Relay/1/Function",
}
_GENERATOR = "generator/0"

GX_CONTROLS: tuple[VictronControlEntityDescription, ...] = (
    select(
        f"{_CGWACS}/BatteryLife/State",
        "ess_mode",
        ESS_MODES,
        read=ESS_MODE_STATES,
        category=CONFIG,
        accept_fn=_ess_accept,
    ),
    select(f"{_CGWACS}/Hub4Mode", "ess_control_mode", ESS_CONTROL_MODES, category=CONFIG),
    number(
        f"{_CGWACS}/BatteryLife/MinimumSocLimit",
        "ess_minimum_soc",
        PERCENTAGE,
        NumberDeviceClass.BATTERY,
        low=0,
        high=100,
    ),
    number(
        f"{_CGWACS}/AcPowerSetPoint",
        "grid_setpoint",
        UnitOfPower.WATT,
        NumberDeviceClass.POWER,
        low=-100_000,
        high=100_000,
    ),
    number(
        f"{_CGWACS}/MaxDischargePower",
        "ess_max_inverter_power",
        UnitOfPower.WATT,
        NumberDeviceClass.POWER,
        low=-1,
        high=100_000,
    ),
    switch(f"{_CGWACS}/OvervoltageFeedIn", "ess_overvoltage_feed_in", category=CONFIG),
    number(
        f"{_SETUP}/MaxChargeCurrent",
        "dvcc_max_charge_current",
        UnitOfElectricCurrent.AMPERE,
        NumberDeviceClass.CURRENT,
        low=-1,
        high=10_000,
    ),
    number(
        f"{_SETUP}/MaxChargeVoltage",
        "dvcc_max_charge_voltage",
        UnitOfElectricPotential.VOLT,
        NumberDeviceClass.VOLTAGE,
        low=0,
        high=80,
        step=0.01,
        integer=False,
    ),
    *(
        switch(
            f"system/0/Relay/{relay}/State",
            "gx_relay_control",
            writable=_flag(function, 2),
            exists=_present(f"system/0/Relay/{relay}/State", _flag(function, 2)),
            placeholders={"relay": str(relay + 1)},
        )
        for relay, function in _RELAY_FUNCTION.items()
    ),
    switch(f"{_GENERATOR}/ManualStart", "generator_manual_start"),
    VictronTimeEntityDescription(
        key=f"{_GENERATOR}/ManualStartTimer",
        translation_key="generator_run_for",
        entity_category=CONFIG,
        value_fn=lambda data: seconds_to_time(data.get(f"{_GENERATOR}/ManualStartTimer")),
        exists_fn=_present(f"{_GENERATOR}/ManualStartTimer"),
        to_device=time_to_seconds,
    ),
    switch(f"{_GENERATOR}/AutoStartEnabled", "generator_auto_start", category=CONFIG),
    VictronButtonEntityDescription(
        key=f"{_GENERATOR}/ServiceCounterReset",
        translation_key="generator_service_reset",
        entity_category=CONFIG,
        exists_fn=_present(f"{_GENERATOR}/ServiceCounterReset"),
        accept_fn=lambda _value: frozenset({0, 1}),
    ),
)
"""The GX's own controls: ESS (mode, phase regulation, minimum SOC, grid setpoint, limit inverter
power, feed-in of excess DC-coupled PV), DVCC
(maximum charge current and voltage; -1 A and 0 V mean no limit), the GX's relays in manual
mode, the generator start/stop (manual start, its run-for timer, auto start, service reset)."""

GX_KEYS: Final = frozenset(
    key for row in GX_CONTROLS for key in (row.key, *_RELAY_FUNCTION.values())
)
"""Every path the GX rows read (their data is made of these, from `GX_SERVICES`)."""

# --- switchable outputs ---------------------------------------------------------------------------

SWITCH_STATE: Final = "SwitchableOutput/{output}/State"
SWITCH_DIMMING: Final = "SwitchableOutput/{output}/Dimming"
DIMMABLE: Final = 2
"""``SwitchableOutput/<id>/Settings/Type`` of a dimmable output (0 momentary, 1 toggle)."""


def output_name(data: DeviceData, output: str) -> str:
    """An output's name: its custom name, else the name the device gives it, else its id."""
    for path in (
        f"SwitchableOutput/{output}/Settings/CustomName",
        f"SwitchableOutput/{output}/Name",
    ):
        value = data.get(path)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return output


def switch_rows(data: DeviceData) -> tuple[VictronControlEntityDescription, ...]:
    """The rows of a switch service's outputs (from its data: one per
    ``SwitchableOutput/<id>/State``; dimmable outputs also get a brightness number)."""
    rows: list[VictronControlEntityDescription] = []
    outputs = sorted(
        path.split("/")[1]
        for path in data
        if path.startswith("SwitchableOutput/") and path.endswith("/State") and path.count("/") == 2
    )
    for output in outputs:
        name = output_name(data, output)
        rows.append(
            switch(
                SWITCH_STATE.format(output=output),
                "switchable_output",
                placeholders={"output": name},
            )
        )
        if data.get(f"SwitchableOutput/{output}/Settings/Type") == DIMMABLE:
            rows.append(
                number(
                    SWITCH_DIMMING.format(output=output),
                    "switchable_output_dimming",
                    PERCENTAGE,
                    None,
                    low=0,
                    high=100,
                    integer=False,
                    device_limits=False,
                    category=None,
                    placeholders={"output": name},
                )
            )
    return tuple(rows)


SWITCH_ROW_TEMPLATES: tuple[VictronControlEntityDescription, ...] = (
    switch("SwitchableOutput/output/State", "switchable_output", placeholders={"output": ""}),
    number(
        "SwitchableOutput/output/Dimming",
        "switchable_output_dimming",
        PERCENTAGE,
        None,
        placeholders={"output": ""},
    ),
)
"""The translation keys of `switch_rows` (gen_strings and the translation test read tables)."""

# Names and option labels: strings.json, entity.<platform>.<translation_key> (edited by hand).

"""Banks of any batteries (issue 13 §2): a JBD battery (a real pty with the btsnoop capture's
frames), a Bluetooth battery of another brand (aiobmsble's Daly frames on the fake radio), a
battery service of a Venus GX entry and a battery Home Assistant already has as entities, mixed in
one bank; what each member lacks is said; a bank made before (entry ids only, config entry 1.1)
loads unchanged; the flow's new steps."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import CONFIG_ENTRY_MINOR_VERSION, DOMAIN
from custom_components.victron_venus.sources import bank as bank_module
from custom_components.victron_venus.sources.bank import BankSource, state_values
from tests.components import jbd_helpers
from tests.components.bank_cells import cell_where
from tests.components.ble_battery_helpers import advertise, fast, setup_battery
from tests.components.jbd_helpers import serving, setup_entry, setup_serial, state, wait_for
from tests.fakes import ble_bms, jbd_bms

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

GX = "c0619ab4e25c"
GX_BATTERY = f"{GX}_battery_512"
#: the House battery service of the GX simulator's boat: path -> (state, unit)
GX_STATES = {
    "Dc/0/Voltage": ("13.28", "V"),
    "Dc/0/Current": ("-4.2", "A"),
    "Soc": ("81.5", "%"),
    "Dc/0/Power": ("-55.8", "W"),
    "Capacity": ("163.0", "Ah"),
    "InstalledCapacity": ("200.0", "Ah"),
    "System/MinCellVoltage": ("3.310", "V"),
    "System/MaxCellVoltage": ("3.325", "V"),
    "History/ChargedEnergy": ("120.5", "kWh"),
    "History/DischargedEnergy": ("98.25", "kWh"),
}


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)
    jbd_helpers.fast(monkeypatch)
    monkeypatch.setattr(bank_module, "STARTUP_GRACE", 0.0)


def _number(hass: HomeAssistant, unique_id: str) -> float:
    value = state(hass, unique_id)
    assert value is not None and value not in ("unknown", "unavailable"), (unique_id, value)
    return float(value)


async def _jbd(hass: HomeAssistant, tmp_path: Path, stack: Any, title: str) -> MockConfigEntry:
    bms = jbd_bms.FakeBms(jbd_bms.transcript())  # 280 Ah 4S, cells 3.417-3.432 V
    device = await stack.enter_async_context(serving(tmp_path, bms, f"tty{title}"))
    entry = await setup_serial(hass, device.link, title=title, options={"poll_interval": 60})
    await wait_for(lambda: entry.runtime_data.good_polls == 1)
    return entry


def _gx(hass: HomeAssistant, states: dict[str, tuple[str, str]] = GX_STATES) -> MockConfigEntry:
    """A Venus GX entry whose House battery service has its entities (as sources/venus makes
    them: unique id '<service identifier>_<D-Bus path>') and their states."""
    gx = MockConfigEntry(domain=DOMAIN, title="Boat GX", unique_id=GX, data={"entry_type": "venus"})
    gx.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=gx.entry_id, identifiers={(DOMAIN, GX_BATTERY)}, name="House battery"
    )
    for path, (value, unit) in states.items():
        _gx_entity(hass, gx, device.id, path, value=value, unit=unit)
    return gx


def _gx_entity(
    hass: HomeAssistant, gx: MockConfigEntry, device_id: str, path: str, *, value: str, unit: str
) -> None:
    entity = er.async_get(hass).async_get_or_create(
        "sensor", DOMAIN, f"{GX_BATTERY}_{path}", config_entry=gx, device_id=device_id
    )
    hass.states.async_set(entity.entity_id, value, {"unit_of_measurement": unit})


def _entity_battery(hass: HomeAssistant) -> dict[str, str]:
    """A battery Home Assistant already has (say core victron_ble's Smart Lithium): its voltage
    in mV, current in A, SOC, a temperature in °F, lowest and highest cell."""
    states = {
        "sensor.boat_voltage": ("13250", "mV"),
        "sensor.boat_current": ("-5", "A"),
        "sensor.boat_soc": ("75", "%"),
        "sensor.boat_temperature": ("59", "°F"),
        "sensor.boat_cell_min": ("3.301", "V"),
        "sensor.boat_cell_max": ("3.322", "V"),
    }
    for entity_id, (value, unit) in states.items():
        hass.states.async_set(entity_id, value, {"unit_of_measurement": unit})
    return {
        "name": "Boat",
        "voltage": "sensor.boat_voltage",
        "current": "sensor.boat_current",
        "soc": "sensor.boat_soc",
        "temperature": "sensor.boat_temperature",
        "cell_min": "sensor.boat_cell_min",
        "cell_max": "sensor.boat_cell_max",
    }


async def test_series_bank_of_a_jbd_a_daly_and_an_entity_battery(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Series: voltages add (the entity battery's mV converted), currents average, the lowest SOC;
    the cell monitor spans all three (the entity battery by its lowest/highest cell, without a
    cell number); the charge voltage is unknown because Boat has no cell count, and the lacking
    sensor says what each member lacks."""
    async with contextlib.AsyncExitStack() as stack:
        fore = await _jbd(hass, tmp_path, stack, "Fore")
        address = advertise(hass, "daly_bms")
        stack.enter_context(ble_bms.registered(address, ble_bms.FamilyBms("daly_bms")))
        van = await setup_battery(hass, "daly_bms", title="Van", options={"poll_interval": 60})
        await wait_for(lambda: van.runtime_data.good_polls == 1)
        spec = _entity_battery(hass)
        bank = await setup_entry(
            hass,
            unique_id="bank_mixed",
            title="Mixed",
            data={
                "entry_type": "bank",
                "members": [fore.entry_id, van.entry_id, "entities:sensor.boat_voltage"],
                "wiring": "series",
                "entity_batteries": {"sensor.boat_voltage": spec},
            },
        )
        uid = "bank_mixed"
        jbd = fore.runtime_data.coordinator.data
        assert _number(hass, f"{uid}_voltage") == pytest.approx(jbd["voltage"] + 14.0 + 13.25)
        assert _number(hass, f"{uid}_current") == pytest.approx(
            round((jbd["current"] + 3.0 - 5.0) / 3, 3)
        )
        assert _number(hass, f"{uid}_soc") == min(jbd["soc"], 90.0, 75.0)
        assert _number(hass, f"{uid}_power") == pytest.approx(
            round(jbd["power"] + 42.0 + 13.25 * -5, 2)
        )
        assert _number(hass, f"{uid}_highest_cell_voltage") == 4.157  # Daly's cell 4
        assert cell_where(hass, f"{uid}_highest_cell_voltage") == ("Van", 4)
        assert min(jbd["cells"]) == 3.417  # the capture's lowest cell, above Boat's
        assert _number(hass, f"{uid}_lowest_cell_voltage") == 3.301
        # no cell number from its entities
        assert cell_where(hass, f"{uid}_lowest_cell_voltage") == ("Boat", None)
        assert _number(hass, f"{uid}_temperature_min") == 15.0  # Boat's 59 °F
        assert state(hass, f"{uid}_max_charge_voltage") == STATE_UNKNOWN
        assert state(hass, f"{uid}_lacking") == (
            "Van: capacity; Boat: cell count, capacity, energy counters, FET states"
        )
        source: BankSource = bank.runtime_data
        assert [m["kind"] for m in source.diagnostics()["members"]] == [
            "battery",
            "battery",
            "entities",
        ]

        hass.states.async_set("sensor.boat_soc", "unavailable")  # Boat lost: no aggregate
        await hass.async_block_till_done()
        assert state(hass, f"{uid}_voltage") == STATE_UNKNOWN
        assert state(hass, f"{uid}_alert_member_unavailable", "binary_sensor") == "on"
        hass.states.async_set("sensor.boat_soc", "74", {"unit_of_measurement": "%"})
        await hass.async_block_till_done()
        assert state(hass, f"{uid}_alert_member_unavailable", "binary_sensor") == "off"
        for entry in (bank, van, fore):
            assert await hass.config_entries.async_unload(entry.entry_id)


async def test_parallel_bank_of_a_jbd_battery_and_a_gx_battery_service(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Parallel: a JBD battery and the GX's House battery service (its entities found by their
    unique ids, its name from the device): currents and capacities add, SOC is capacity-weighted,
    energy counters add; a GX entity created after the bank started is picked up."""
    async with contextlib.AsyncExitStack() as stack:
        fore = await _jbd(hass, tmp_path, stack, "Fore")
        gx = _gx(hass)
        ref = f"venus:{gx.entry_id}:{GX_BATTERY}"
        bank = await setup_entry(
            hass,
            unique_id="bank_gx",
            title="House bank",
            data={"entry_type": "bank", "members": [fore.entry_id, ref], "wiring": "parallel"},
        )
        uid = "bank_gx"
        jbd = fore.runtime_data.coordinator.data
        assert _number(hass, f"{uid}_current") == pytest.approx(round(jbd["current"] - 4.2, 3))
        assert _number(hass, f"{uid}_nominal_capacity") == pytest.approx(
            jbd["nominal_capacity"] + 200.0
        )
        remaining = jbd["remaining_capacity"] + 163.0
        assert _number(hass, f"{uid}_soc") == pytest.approx(
            round(100 * remaining / (jbd["nominal_capacity"] + 200.0), 1)
        )
        assert _number(hass, f"{uid}_charged_energy") == pytest.approx(
            round(jbd["charged_energy"] + 120.5, 6)
        )
        assert max(jbd["cells"]) == 3.432  # above the GX's highest cell, 3.325 V
        assert cell_where(hass, f"{uid}_highest_cell_voltage") == ("Fore", jbd["cell_max_index"])
        assert _number(hass, f"{uid}_lowest_cell_voltage") == 3.31  # the GX's lowest
        assert cell_where(hass, f"{uid}_lowest_cell_voltage") == ("House battery", None)
        assert state(hass, f"{uid}_lacking") == "House battery: cell count, temperature, FET states"
        assert _number(hass, f"{uid}_temperature_max") == max(jbd["temperatures"])
        device = dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, GX_BATTERY), gx.entry_id
        )
        assert device is not None
        _gx_entity(
            hass, gx, device.id, "Dc/0/Temperature", value="21.5", unit="°C"
        )  # appears later
        await hass.async_block_till_done()
        assert _number(hass, f"{uid}_temperature_max") == max([*jbd["temperatures"], 21.5])
        assert state(hass, f"{uid}_lacking") == "House battery: cell count, FET states"
        for entry in (bank, fore):
            assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_bank_made_before_loads_unchanged(hass: HomeAssistant, tmp_path: Path) -> None:
    """A bank entry as the 2-4 JBD battery flow wrote it (config entry 1.1: entry ids only, the
    old option name): it migrates to the current version (only options change), its data stays
    as it was, and it computes from its two JBD batteries as before."""
    async with contextlib.AsyncExitStack() as stack:
        fore = await _jbd(hass, tmp_path, stack, "Fore")
        aft = await _jbd(hass, tmp_path, stack, "Aft")
        data = {
            "entry_type": "bank",
            "members": [fore.entry_id, aft.entry_id],
            "wiring": "parallel",
            "capacities": {aft.entry_id: 250.0},
        }
        old = MockConfigEntry(
            domain=DOMAIN,
            title="Old bank",
            unique_id="bank_old",
            version=1,
            minor_version=1,
            data=dict(data),
            options={"update_interval": 5, "soc_warning": 30},
        )
        old.add_to_hass(hass)
        assert await hass.config_entries.async_setup(old.entry_id)
        await hass.async_block_till_done()
        assert old.state is ConfigEntryState.LOADED
        assert (old.version, old.minor_version) == (1, CONFIG_ENTRY_MINOR_VERSION)
        assert dict(old.data) == data  # the bank's own data: untouched
        assert "update_interval" not in old.options  # only the option migrations apply
        assert (old.options["write_interval"], old.options["soc_warning"]) == (5, 30)
        jbd = fore.runtime_data.coordinator.data
        assert _number(hass, "bank_old_nominal_capacity") == pytest.approx(
            jbd["nominal_capacity"] + 250.0
        )
        assert state(hass, "bank_old_lacking") == "nothing"
        for entry in (old, aft, fore):
            assert await hass.config_entries.async_unload(entry.entry_id)


def test_state_values_convert_units_and_need_the_three() -> None:
    """mV, mA, kW, mAh and °F become V, A, W, Ah and °C; a unit that does not fit drops the
    value; no voltage, current or SOC number: unavailable."""
    from homeassistant.core import State

    def states(**values: tuple[str, str | None]) -> dict[str, State]:
        return {
            key: State(f"sensor.{key}", value, {"unit_of_measurement": unit} if unit else {})
            for key, (value, unit) in values.items()
        }

    assert state_values(
        states(
            voltage=("26500", "mV"),
            current=("-1500", "mA"),
            soc=("50", "%"),
            power=("-0.04", "kW"),
            remaining_capacity=("50000", "mAh"),
            nominal_capacity=("100", "Ah"),
            temperature=("77", "°F"),
            cell_max=("3.3", "kWh"),  # wrong unit: dropped
        )
    ) == {
        "voltage": 26.5,
        "current": -1.5,
        "soc": 50.0,
        "power": -40.0,
        "remaining_capacity": 50.0,
        "nominal_capacity": 100.0,
        "temperatures": [25.0],
    }
    assert state_values(states(voltage=("13", None), current=("1", "A"), soc=("x", "%"))) is None
    assert state_values(states(voltage=("13", None), current=("2", "A"), soc=("9", "Ah"))) is None
    assert state_values(states(voltage=("12", None), current=("2", "A"), soc=("9", None))) == {
        "voltage": 12.0,
        "current": 2.0,
        "soc": 9.0,
        "power": 24.0,
    }


async def _reconfigure(hass: HomeAssistant, entry_id: str) -> Any:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry_id}
    )


async def test_bank_flow_with_every_kind_of_member(hass: HomeAssistant) -> None:
    """The list offers JBD and Bluetooth batteries and the GX's battery services; other batteries
    are given as entities, one step each (a missing entity and a voltage sensor used twice are
    refused); the capacity step names every member; reconfigure offers the entity batteries
    again."""
    jbd = MockConfigEntry(
        domain=DOMAIN, title="Fore", unique_id="jbd_fore", data={"entry_type": "jbd"}
    )
    ble = MockConfigEntry(
        domain=DOMAIN,
        title="Van",
        unique_id="40:16:09:01:53:4C",
        data={"entry_type": "ble_battery"},
    )
    for entry in (jbd, ble):
        entry.add_to_hass(hass)
    gx = _gx(hass)
    # a GX device that is no battery service, and a battery service without a voltage entity
    dr.async_get(hass).async_get_or_create(
        config_entry_id=gx.entry_id, identifiers={(DOMAIN, f"{GX}_tank_20")}, name="Fresh water"
    )
    dr.async_get(hass).async_get_or_create(
        config_entry_id=gx.entry_id, identifiers={(DOMAIN, f"{GX}_battery_513")}, name="Starter"
    )
    spec = _entity_battery(hass)
    hass.states.async_set("sensor.dinghy_voltage", "12.9", {"unit_of_measurement": "V"})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "bank"}
    )
    assert result["step_id"] == "bank"
    options = result["data_schema"].schema["members"].config["options"]  # type: ignore[union-attr]
    ref = f"venus:{gx.entry_id}:{GX_BATTERY}"
    assert [(o["value"], o["label"]) for o in options] == [
        (jbd.entry_id, "Fore"),
        (ble.entry_id, "Van"),
        (ref, "Boat GX: House battery"),
    ]
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            "name": "All",
            "members": [jbd.entry_id, ref],
            "entity_batteries": 2,
            "wiring": "parallel",
        },
    )
    assert result["step_id"] == "bank_entities"
    assert result["description_placeholders"] == {"index": "1", "count": "2"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**{k: v for k, v in spec.items() if k != "name"}, "power": "sensor.nope"}
    )
    assert result["errors"] == {"power": "entity_not_found"}
    result = await hass.config_entries.flow.async_configure(flow_id, spec)
    assert result["description_placeholders"] == {"index": "2", "count": "2"}
    second = {
        "voltage": "sensor.boat_voltage",
        "current": "sensor.boat_current",
        "soc": "sensor.boat_soc",
    }
    result = await hass.config_entries.flow.async_configure(flow_id, second)
    assert result["errors"] == {"voltage": "entity_taken"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**second, "voltage": "sensor.dinghy_voltage"}
    )
    assert result["step_id"] == "bank_capacity"
    assert result["description_placeholders"] == {
        "batteries": "1. Fore\n2. Boat GX: House battery\n3. Boat\n4. Battery 2"
    }
    result = await hass.config_entries.flow.async_configure(flow_id, {"capacity_3": 100})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    bank = result["result"]
    assert bank.unique_id == (
        f"bank_{GX_BATTERY}_entities_sensor.boat_voltage_entities_sensor.dinghy_voltage_jbd_fore"
    )
    assert bank.data == {
        "entry_type": "bank",
        "members": [
            jbd.entry_id,
            ref,
            "entities:sensor.boat_voltage",
            "entities:sensor.dinghy_voltage",
        ],
        "wiring": "parallel",
        "capacities": {"entities:sensor.boat_voltage": 100.0},
        "entity_batteries": {
            "sensor.boat_voltage": spec,
            "sensor.dinghy_voltage": {
                **second,
                "voltage": "sensor.dinghy_voltage",
                "name": "Battery 2",
            },
        },
    }
    await hass.async_block_till_done()

    result = await _reconfigure(hass, bank.entry_id)
    assert result["data_schema"] is not None
    schema = result["data_schema"].schema
    defaults = {str(k): k.default() for k in schema if hasattr(k, "default")}
    assert defaults["entity_batteries"] == 2
    assert defaults["members"] == [jbd.entry_id, ref]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "All", "members": [ble.entry_id], "entity_batteries": 1, "wiring": "series"},
    )
    assert result["step_id"] == "bank_entities"
    voltage = next(k for k in result["data_schema"].schema if str(k) == "voltage")  # type: ignore[union-attr]
    assert voltage.description == {"suggested_value": "sensor.boat_voltage"}  # the old one
    result = await hass.config_entries.flow.async_configure(result["flow_id"], spec)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert bank.data["members"] == [ble.entry_id, "entities:sensor.boat_voltage"]
    assert bank.unique_id == "bank_40:16:09:01:53:4C_entities_sensor.boat_voltage"

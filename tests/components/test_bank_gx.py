"""A battery bank steers a GX (issue 10 §4), with real parts: mosquitto and the GX simulator
(dbus-flashmq's W/ semantics) behind a Venus GX entry with Control on; the bank's members are
battery coordinators in the battery registry, pushed the real JBD captures' values.

The bank's CVL/CCL reach the GX's DVCC paths (rounded down), only when they move by more than
0.05 V / 1 A and at most once per 30 s; the GX's own limits are read and stored first and written
back - with a repair issue - on each of the four stop conditions: a battery lost, stale data, the
option removed, the bank deleted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryDisabler
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.coordinator import DeviceCoordinator
from custom_components.victron_venus.sources import bank as bank_module, bank_gx
from custom_components.victron_venus.sources.bank import SERIES
from custom_components.victron_venus.sources.registry import battery_registry
from custom_components.victron_venus.sources.venus_control import CONF_CONTROL
from tests.battery.captures import fore
from tests.components.jbd_helpers import setup_entry as setup_any, state
from tests.components.venus_support import broker, fast, gx, setup_entry, wait_for
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker

__all__ = ["broker", "fast", "gx"]

UID = "bank_gx"
VOLTAGE = "settings/0/Settings/SystemSetup/MaxChargeVoltage"
CURRENT = "settings/0/Settings/SystemSetup/MaxChargeCurrent"
#: the boat GX's own DVCC limits (the recording): no voltage limit, 60 A
GX_OWN = (0, 60)
#: cells of a battery far from full: charge current not limited by the cells
LOW_CELLS = [3.35, 3.36, 3.37, 3.36]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bank_module, "STARTUP_GRACE", 0.0)


def _member(hass: HomeAssistant, title: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=f"jbd_{title}",
        data={"entry_type": "jbd", "transport": "serial", "serial_port": f"/dev/{title}"},
        disabled_by=ConfigEntryDisabler.USER,
    )
    entry.add_to_hass(hass)
    return entry


def _coordinator(hass: HomeAssistant, entry: MockConfigEntry) -> DeviceCoordinator:
    return DeviceCoordinator(
        hass,
        entry,
        identifier=str(entry.unique_id),
        device_info=DeviceInfo(identifiers={(DOMAIN, str(entry.unique_id))}, name=entry.title),
        write_interval=0,
    )


class Rig:
    """A GX entry (Control on) on the simulator and a bank of two registry batteries that
    follows it."""

    def __init__(self, hass: HomeAssistant, sim: GxSimulator) -> None:
        self.hass = hass
        self.sim = sim
        self.gx_entry: MockConfigEntry
        self.bank: MockConfigEntry
        self.members: list[DeviceCoordinator] = []
        self.member_entries: list[MockConfigEntry] = []
        self.unregister: list[Any] = []

    async def start(self, broker: MosquittoBroker, *, control: bool = True) -> None:
        hass = self.hass
        self.gx_entry = await setup_entry(
            hass, broker, options={"write_interval": 0, CONF_CONTROL: control}
        )
        source = self.gx_entry.runtime_data
        await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")
        if control:
            await wait_for(
                lambda: (
                    source.control.gx_coordinator is not None
                    and VOLTAGE in source.control.gx_coordinator.data
                ),
                what="the GX's controls",
            )
        fore_entry, aft_entry = _member(hass, "Fore"), _member(hass, "Aft")
        self.bank = await setup_any(
            hass,
            unique_id=UID,
            title="Bank",
            data={
                "entry_type": "bank",
                "members": [fore_entry.entry_id, aft_entry.entry_id],
                "wiring": SERIES,
            },
            options={bank_gx.CONF_GX_LIMITS: self.gx_entry.entry_id},
        )
        registry = battery_registry(hass)
        self.member_entries = [fore_entry, aft_entry]
        for entry in (fore_entry, aft_entry):
            coordinator = _coordinator(hass, entry)
            self.members.append(coordinator)
            self.unregister.append(registry.async_register(entry.entry_id, coordinator))

    def push(self, **extra: Any) -> None:
        """Both members report the app capture's battery (with `extra` values)."""
        for coordinator in self.members:
            coordinator.async_push(fore(**extra))

    @property
    def link(self) -> bank_gx.BankGxLink:
        source: bank_module.BankSource = self.bank.runtime_data
        return source.gx_link

    def gx_limits(self) -> tuple[Any, Any]:
        return self.sim.get_value(VOLTAGE), self.sim.get_value(CURRENT)

    async def following(self) -> None:
        await wait_for(lambda: self.link.following and not self._busy(), what="the GX follows")
        await self.hass.async_block_till_done()

    def _busy(self) -> bool:
        task = self.link._task
        return task is not None and not task.done()


def _issue(hass: HomeAssistant, rig: Rig) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, bank_gx.issue_id(rig.bank.entry_id))


def _writes(sim: GxSimulator) -> list[tuple[str, bytes]]:
    return [w for w in sim.raw_writes if w[0] in (VOLTAGE, CURRENT)]


async def _following_rig(hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator) -> Rig:
    rig = Rig(hass, gx)
    await rig.start(broker)
    rig.push()
    await rig.following()
    return rig


async def test_the_bank_limits_reach_the_gx_rounded_down(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Two 4S batteries in series at the app capture's cells: CVL 27.6 V, CCL 1.87 A -> the GX
    gets 27.6 V and 1 A (its own 0 V / 60 A stored first); the binary sensor is on."""
    rig = await _following_rig(hass, broker, gx)
    assert state(hass, f"{UID}_max_charge_voltage") == "27.6"
    assert state(hass, f"{UID}_max_charge_current") == "1.87"
    assert rig.gx_limits() == (27.6, 1)
    assert _writes(gx) == [(VOLTAGE, b'{"value":27.6}'), (CURRENT, b'{"value":1}')]
    assert rig.link.previous == {"gx": rig.gx_entry.entry_id, "voltage": 0, "current": 60}
    assert state(hass, f"{UID}_gx_following", "binary_sensor") == "on"
    assert _issue(hass, rig) is None


async def test_writes_need_a_step_and_wait_30_s(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """A change of less than a step (CCL 1.87 -> 2.5 A: 1 -> 2 A, not more than 1 A) writes
    nothing; a larger one (cells lower: CCL 50 A) within 30 s of the last write waits for the 30
    s to pass, then the latest limits go."""
    rig = await _following_rig(hass, broker, gx)
    writes = len(_writes(gx))
    # a small step: highest cell 3.428 V instead of 3.432 V
    rig.push(cells=[3.43, 3.425, 3.428, 3.417])
    await hass.async_block_till_done()
    assert rig.link.wanted == (27.6, 2.0)
    assert len(_writes(gx)) == writes
    rig.push(cells=LOW_CELLS)  # CCL 50 A: due, but within 30 s of the last write
    await hass.async_block_till_done()
    assert rig.link.wanted == (27.6, 50.0)
    assert len(_writes(gx)) == writes
    assert rig.gx_limits() == (27.6, 1)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=bank_gx.MIN_INTERVAL + 1))
    await wait_for(lambda: rig.gx_limits() == (27.6, 50), what="the new current")
    await rig.following()
    assert _writes(gx)[writes:] == [(VOLTAGE, b'{"value":27.6}'), (CURRENT, b'{"value":50}')]


async def _assert_restored(hass: HomeAssistant, rig: Rig, reason: str) -> None:
    await wait_for(lambda: rig.gx_limits() == GX_OWN, what="the GX's own limits back")
    # the issue follows the confirmed writes and the removal of the stored settings (a file
    # removal in the executor), so it may come a moment after the GX shows its own limits
    await wait_for(lambda: _issue(hass, rig) is not None, what="the repair issue")
    await hass.async_block_till_done()
    issue = _issue(hass, rig)
    assert issue is not None
    assert issue.translation_key == f"bank_gx_{reason}"
    assert issue.translation_placeholders == {"bank": "Bank", "voltage": "0", "current": "60"}
    assert _writes(rig.sim)[-2:] == [(VOLTAGE, b'{"value":0}'), (CURRENT, b'{"value":60}')]


async def test_a_lost_battery_stops_and_restores(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """A battery's source stops: the GX gets its own 0 V / 60 A back and the issue says why;
    nothing more is written while the battery is gone. When it reports again the GX follows
    again (its limits read afresh) and the issue is withdrawn."""
    rig = await _following_rig(hass, broker, gx)
    rig.unregister[1]()  # the Aft battery's source stops
    await _assert_restored(hass, rig, "member_lost")
    assert rig.link.stopped == "member_lost"
    assert state(hass, f"{UID}_gx_following", "binary_sensor") == "off"
    writes = len(_writes(gx))
    rig.push(cells=LOW_CELLS)  # the Fore battery alone: nothing is written
    await hass.async_block_till_done()
    assert len(_writes(gx)) == writes
    assert rig.gx_limits() == GX_OWN

    aft = _coordinator(hass, rig.member_entries[1])
    rig.members[1] = aft
    battery_registry(hass).async_register(rig.member_entries[1].entry_id, aft)
    rig.push()
    await rig.following()
    assert rig.gx_limits() == (27.6, 1)
    assert rig.link.previous == {"gx": rig.gx_entry.entry_id, "voltage": 0, "current": 60}
    assert _issue(hass, rig) is None
    assert state(hass, f"{UID}_gx_following", "binary_sensor") == "on"


async def test_stale_data_stops_and_restores(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    rig = await _following_rig(hass, broker, gx)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=bank_gx.STALE_AFTER + 1))
    await _assert_restored(hass, rig, "stale")
    assert state(hass, f"{UID}_gx_following", "binary_sensor") == "off"


async def test_removing_the_option_stops_and_restores(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    rig = await _following_rig(hass, broker, gx)
    hass.config_entries.async_update_entry(rig.bank, options={"write_interval": 0})
    assert await hass.config_entries.async_reload(rig.bank.entry_id)
    await _assert_restored(hass, rig, "option_removed")
    assert bank_gx.KEY not in rig.bank.runtime_data.coordinator.data  # no option: no value
    assert rig.bank.runtime_data.gx_link.previous is None


async def test_deleting_the_bank_stops_and_restores(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    rig = await _following_rig(hass, broker, gx)
    assert await hass.config_entries.async_remove(rig.bank.entry_id)
    await _assert_restored(hass, rig, "bank_removed")


async def test_a_restart_keeps_the_stored_limits_and_a_gx_with_control_off_is_an_issue(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """A reload of the bank does not restore (the GX keeps the last limits) nor read the GX's
    limits again (they are the bank's now): the stored ones stay. A GX with Control off is never
    written to: the bank raises the control_off issue."""
    rig = await _following_rig(hass, broker, gx)
    writes = len(_writes(gx))
    assert await hass.config_entries.async_reload(rig.bank.entry_id)
    rig.push()
    await hass.async_block_till_done()
    assert rig.gx_limits() == (27.6, 1)
    assert len(_writes(gx)) == writes  # the same limits are not written again
    assert rig.link.written == (27.6, 1.0)
    assert rig.link.previous == {"gx": rig.gx_entry.entry_id, "voltage": 0, "current": 60}
    gx_entry = rig.gx_entry
    hass.config_entries.async_update_entry(gx_entry, options={"write_interval": 0})
    assert await hass.config_entries.async_reload(gx_entry.entry_id)
    rig.push(cells=LOW_CELLS)  # CCL 50 A, due once the 30 s are over
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=bank_gx.MIN_INTERVAL + 1))
    await wait_for(lambda: rig.link.stopped == "control_off", what="control off")
    issue = _issue(hass, rig)
    assert issue is not None and issue.translation_key == "bank_gx_control_off"
    assert rig.gx_limits() == (27.6, 1)


async def test_the_bank_option_lists_the_gx_entries(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """The option "Send charge limits to a GX" offers the Venus GX entries by title, is empty
    (off) by default, and is stored as the GX entry's id."""
    rig = Rig(hass, gx)
    await rig.start(broker)
    hass.config_entries.async_update_entry(rig.bank, options={"write_interval": 0})
    result = await hass.config_entries.options.async_init(rig.bank.entry_id)
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    field = next(key for key in schema if str(key) == bank_gx.CONF_GX_LIMITS)
    assert field.description is None  # nothing suggested: off
    selector = schema[field]
    assert selector.config["options"] == [{"value": rig.gx_entry.entry_id, "label": "Ekrano GX"}]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"write_interval": 0, bank_gx.CONF_GX_LIMITS: rig.gx_entry.entry_id}
    )
    await hass.async_block_till_done()
    assert rig.bank.options[bank_gx.CONF_GX_LIMITS] == rig.gx_entry.entry_id
    result = await hass.config_entries.options.async_init(rig.bank.entry_id)
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    field = next(key for key in schema if str(key) == bank_gx.CONF_GX_LIMITS)
    assert field.description == {"suggested_value": rig.gx_entry.entry_id}

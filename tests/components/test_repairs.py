"""A bank whose member battery entry was deleted (issue 12): the bank still sets up, and a
fixable repair issue lets the user pick a replacement battery or remove the member."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN


def _battery(hass: HomeAssistant, uid: str, title: str) -> MockConfigEntry:
    """A JBD battery entry (not set up: the bank only needs it to exist)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=uid,
        data={"entry_type": "jbd", "transport": "serial", "serial_port": f"/dev/{uid}"},
    )
    entry.add_to_hass(hass)
    return entry


async def _bank(hass: HomeAssistant, members: list[str], uid: str) -> MockConfigEntry:
    assert await async_setup_component(hass, "repairs", {})
    bank = MockConfigEntry(
        domain=DOMAIN,
        title="House bank",
        unique_id=uid,
        data={
            "entry_type": "bank",
            "members": members,
            "wiring": "parallel",
            "capacities": {"gone": 100.0, members[0]: 280.0},
        },
        options={"write_interval": 0},
    )
    bank.add_to_hass(hass)
    await hass.config_entries.async_setup(bank.entry_id)
    await hass.async_block_till_done()
    return bank


def _issue(hass: HomeAssistant, bank: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"bank_member_missing_{bank.entry_id}")


async def _fix(hass: HomeAssistant, bank: MockConfigEntry) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(
        DOMAIN, context={"issue_id": f"bank_member_missing_{bank.entry_id}"}
    )
    return dict(result)


async def _answer(hass: HomeAssistant, flow_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return dict(await manager.async_configure(flow_id, answer))


async def test_deleted_member_is_a_fixable_issue_not_a_setup_failure(hass: HomeAssistant) -> None:
    front = _battery(hass, "b1", "Front")
    rear = _battery(hass, "b2", "Rear")
    bank = await _bank(hass, [front.entry_id, rear.entry_id, "gone"], "bank_b1_b2_b3")
    assert bank.state is ConfigEntryState.LOADED
    issue = _issue(hass, bank)
    assert issue is not None
    assert issue.is_fixable is True
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "bank_member_missing"
    assert issue.translation_placeholders == {"bank": "House bank", "count": "1"}
    assert issue.data == {"entry_id": bank.entry_id}
    assert await hass.config_entries.async_unload(bank.entry_id)


async def test_fix_flow_replaces_the_deleted_member(hass: HomeAssistant) -> None:
    """Replace: one form per deleted member, offering the batteries not in the bank; the bank
    keeps its order, drops the old capacity override, gets its new unique id and reloads."""
    front = _battery(hass, "b1", "Front")
    rear = _battery(hass, "b2", "Rear")
    spare = _battery(hass, "b4", "Spare")
    bank = await _bank(hass, [front.entry_id, "gone", rear.entry_id], "bank_b1_b2_b3")
    result = await _fix(hass, bank)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["replace", "remove"]
    result = await _answer(hass, result["flow_id"], {"next_step_id": "replace"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "replace"
    assert result["description_placeholders"] == {"bank": "House bank", "position": "2"}
    options = result["data_schema"].schema["battery"].config["options"]
    assert options == [{"value": spare.entry_id, "label": "Spare"}]
    result = await _answer(hass, result["flow_id"], {"battery": spare.entry_id})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert bank.data["members"] == [front.entry_id, spare.entry_id, rear.entry_id]
    assert bank.data["capacities"] == {front.entry_id: 280.0}
    assert bank.unique_id == "bank_b1_b2_b4"
    assert _issue(hass, bank) is None
    assert bank.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(bank.entry_id)


async def test_fix_flow_removes_the_deleted_member(hass: HomeAssistant) -> None:
    front = _battery(hass, "b1", "Front")
    rear = _battery(hass, "b2", "Rear")
    bank = await _bank(hass, [front.entry_id, rear.entry_id, "gone"], "bank_b1_b2_b3")
    result = await _fix(hass, bank)
    result = await _answer(hass, result["flow_id"], {"next_step_id": "remove"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "remove"
    result = await _answer(hass, result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert bank.data["members"] == [front.entry_id, rear.entry_id]
    assert bank.data["capacities"] == {front.entry_id: 280.0}
    assert bank.unique_id == "bank_b1_b2"
    assert _issue(hass, bank) is None
    assert await hass.config_entries.async_unload(bank.entry_id)


async def test_fix_flow_refuses_the_batteries_of_another_bank(hass: HomeAssistant) -> None:
    """Removing the deleted member would leave exactly the batteries of another bank: the flow
    aborts (two entries may not share a unique id) and both banks stay as they were."""
    front = _battery(hass, "b1", "Front")
    rear = _battery(hass, "b2", "Rear")
    other = MockConfigEntry(
        domain=DOMAIN,
        title="Starter bank",
        unique_id="bank_b1_b2",
        data={"entry_type": "bank", "members": [front.entry_id, rear.entry_id]},
    )
    other.add_to_hass(hass)
    bank = await _bank(hass, [front.entry_id, rear.entry_id, "gone"], "bank_b1_b2_b3")
    result = await _fix(hass, bank)
    result = await _answer(hass, result["flow_id"], {"next_step_id": "remove"})
    result = await _answer(hass, result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "same_batteries"
    assert result["description_placeholders"] == {"other": "Starter bank"}
    assert bank.unique_id == "bank_b1_b2_b3"
    assert bank.data["members"] == [front.entry_id, rear.entry_id, "gone"]
    assert _issue(hass, bank) is not None
    assert await hass.config_entries.async_unload(bank.entry_id)


async def test_remove_is_not_offered_when_fewer_than_two_would_stay(hass: HomeAssistant) -> None:
    """One battery would stay: only replace; with no battery to offer, the flow says to add one
    first (the issue stays); a battery deleted while the form is open is refused."""
    front = _battery(hass, "b1", "Front")
    bank = await _bank(hass, [front.entry_id, "gone"], "bank_b1_b3")
    result = await _fix(hass, bank)
    assert result["menu_options"] == ["replace"]
    result = await _answer(hass, result["flow_id"], {"next_step_id": "replace"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_battery"
    assert _issue(hass, bank) is not None
    spare = _battery(hass, "b4", "Spare")
    result = await _fix(hass, bank)
    result = await _answer(hass, result["flow_id"], {"next_step_id": "replace"})
    await hass.config_entries.async_remove(spare.entry_id)
    result = await _answer(hass, result["flow_id"], {"battery": spare.entry_id})
    assert result["errors"] == {"battery": "unknown_member"}
    assert await hass.config_entries.async_unload(bank.entry_id)


async def test_deleting_a_member_of_a_running_bank_raises_the_issue(hass: HomeAssistant) -> None:
    front = _battery(hass, "b1", "Front")
    rear = _battery(hass, "b2", "Rear")
    bank = await _bank(hass, [front.entry_id, rear.entry_id], "bank_b1_b2")
    assert _issue(hass, bank) is None
    await hass.config_entries.async_remove(rear.entry_id)
    await hass.async_block_till_done()
    issue = _issue(hass, bank)
    assert issue is not None
    assert issue.translation_placeholders == {"bank": "House bank", "count": "1"}
    assert await hass.config_entries.async_unload(bank.entry_id)


@pytest.mark.parametrize("lang", ["en", "de", "nl", "fr"])
def test_issue_and_fix_flow_have_text(lang: str) -> None:
    import json
    from pathlib import Path

    root = Path(__file__).parents[2] / "custom_components/victron_venus"
    path = root / ("strings.json" if lang == "en" else f"translations/{lang}.json")
    issue = json.loads(path.read_text())["issues"]["bank_member_missing"]
    assert issue["title"]
    steps = issue["fix_flow"]["step"]
    assert set(steps["init"]["menu_options"]) == {"replace", "remove"}
    assert steps["replace"]["data"]["battery"] and steps["remove"]["description"]
    assert issue["fix_flow"]["error"]["unknown_member"]

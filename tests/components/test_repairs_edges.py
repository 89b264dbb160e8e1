"""The bank's repair fix flow at its edges (issue 12 §3): the bank deleted while the flow is
open (at each step), the missing battery back before the flow starts, two deleted members
replaced one form after the other; and the unique id the flow gives a bank."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.flows.bank import bank_unique_id
from tests.components.test_repairs import _answer, _bank, _battery, _fix, _issue


@pytest.mark.parametrize("step", ["init", "replace", "remove"])
async def test_a_bank_deleted_while_its_fix_flow_is_open_aborts(
    hass: HomeAssistant, step: str
) -> None:
    front = _battery(hass, "b1", "Front")
    rear = _battery(hass, "b2", "Rear")
    spare = _battery(hass, "b4", "Spare")
    bank = await _bank(hass, [front.entry_id, rear.entry_id, "gone"], "bank_b1_b2_b3")
    if step == "init":  # an issue left by a bank that is gone (its data names the entry)
        issue = _issue(hass, bank)
        assert issue is not None
        await hass.config_entries.async_remove(bank.entry_id)
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue.issue_id,
            is_fixable=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key="bank_member_missing",
            translation_placeholders={"bank": "House bank", "count": "1"},
            data={"entry_id": bank.entry_id},
        )
        result = await _fix(hass, bank)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "bank_gone"
        return
    result = await _fix(hass, bank)
    assert result["type"] is FlowResultType.MENU
    result = await _answer(hass, result["flow_id"], {"next_step_id": step})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == step
    await hass.config_entries.async_remove(bank.entry_id)
    answer = {"battery": spare.entry_id} if step == "replace" else {}
    result = await _answer(hass, result["flow_id"], answer)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bank_gone"


async def test_a_member_back_before_the_flow_starts_ends_it_at_once(hass: HomeAssistant) -> None:
    """The fix flow finds nothing missing (the entry came back): it ends without a form, and
    the bank's members are unchanged."""
    front = _battery(hass, "b1", "Front")
    rear = _battery(hass, "b2", "Rear")
    bank = await _bank(hass, [front.entry_id, rear.entry_id, "gone"], "bank_b1_b2_b3")
    assert _issue(hass, bank) is not None
    hass.config_entries.async_update_entry(
        bank, data={**bank.data, "members": [front.entry_id, rear.entry_id]}
    )  # reconfigured meanwhile: nothing is missing any more
    result = await _fix(hass, bank)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert bank.data["members"] == [front.entry_id, rear.entry_id]


async def test_two_deleted_members_are_replaced_one_form_after_the_other(
    hass: HomeAssistant,
) -> None:
    front = _battery(hass, "b1", "Front")
    spare = _battery(hass, "b4", "Spare")
    other = _battery(hass, "b5", "Other")
    bank = await _bank(hass, ["gone", front.entry_id, "gone too"], "bank_b1_b2_b3")
    result = await _fix(hass, bank)
    assert result["menu_options"] == ["replace"]  # only one battery would stay
    result = await _answer(hass, result["flow_id"], {"next_step_id": "replace"})
    assert result["description_placeholders"] == {"bank": "House bank", "position": "1"}
    result = await _answer(hass, result["flow_id"], {"battery": spare.entry_id})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "replace"
    assert result["description_placeholders"] == {"bank": "House bank", "position": "3"}
    options = result["data_schema"].schema["battery"].config["options"]
    assert {o["value"] for o in options} == {other.entry_id}  # the spare is taken
    result = await _answer(hass, result["flow_id"], {"battery": other.entry_id})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert bank.data["members"] == [spare.entry_id, front.entry_id, other.entry_id]
    assert bank.unique_id == "bank_b1_b4_b5"
    assert await hass.config_entries.async_unload(bank.entry_id)


async def test_bank_unique_id_names_every_kind_of_member(hass: HomeAssistant) -> None:
    """A battery entry by its unique id, a GX battery service by its identifier, an entity
    battery by its voltage entity; sorted. A battery entry that does not exist: KeyError."""
    front = _battery(hass, "b1", "Front")
    refs = [
        "entities:sensor.house_voltage",
        f"venus:{front.entry_id}:c0619ab0f1c9_battery_275",
        front.entry_id,
    ]
    assert bank_unique_id(hass, refs) == (
        "bank_b1_c0619ab0f1c9_battery_275_entities_sensor.house_voltage"
    )
    with pytest.raises(KeyError, match="nobody"):
        bank_unique_id(hass, [front.entry_id, "nobody"])

"""The battery bank form keeps what the user chose when it shows an error (issue 12)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN


def _battery(hass: HomeAssistant, uid: str, title: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=uid,
        data={"entry_type": "jbd", "transport": "serial", "serial_port": f"/dev/{uid}"},
    )
    entry.add_to_hass(hass)
    return entry


def _shown(result: ConfigFlowResult) -> dict[str, Any]:
    """field -> the value the form shows (its suggested value, else its default)."""
    shown: dict[str, Any] = {}
    for key in result["data_schema"].schema:  # type: ignore[union-attr]
        suggested = (key.description or {}).get("suggested_value")
        if suggested is not None:
            shown[str(key)] = suggested
        elif callable(key.default):
            shown[str(key)] = key.default()
    return shown


async def test_bank_form_keeps_the_ticked_batteries_after_member_count_error(
    hass: HomeAssistant,
) -> None:
    """One battery ticked: "choose two to four batteries" and the form still shows that battery,
    the name, the entity-battery count and the wiring the user gave."""
    front = _battery(hass, "b1", "Front")
    _battery(hass, "b2", "Rear")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "bank"}
    )
    answer = {
        "name": "House bank",
        "members": [front.entry_id],
        "entity_batteries": 0,
        "wiring": "series",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], answer)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "member_count"}
    assert _shown(result) == answer


async def test_bank_reconfigure_keeps_the_ticked_batteries_after_member_count_error(
    hass: HomeAssistant,
) -> None:
    """The reconfigure form does the same."""
    front = _battery(hass, "b1", "Front")
    rear = _battery(hass, "b2", "Rear")
    bank = MockConfigEntry(
        domain=DOMAIN,
        title="Bank",
        unique_id="bank_b1_b2",
        data={
            "entry_type": "bank",
            "members": [front.entry_id, rear.entry_id],
            "wiring": "parallel",
            "capacities": {},
        },
    )
    bank.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": bank.entry_id}
    )
    answer = {
        "name": "House",
        "members": [rear.entry_id],
        "entity_batteries": 0,
        "wiring": "series",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], answer)
    assert result["errors"] == {"base": "member_count"}
    assert _shown(result) == answer

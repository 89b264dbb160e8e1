"""The GX form (issue 12): the CA certificate and the fingerprint live in a collapsed TLS
section, open only when the chosen TLS mode needs them; the stored data stays flat."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN

TOP = {"host", "port", "tls_mode", "username", "password", "protocol"}


def _parts(result: ConfigFlowResult) -> tuple[set[str], dict[str, section]]:
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    top = {str(k) for k, v in schema.items() if not isinstance(v, section)}
    sections = {str(k): v for k, v in schema.items() if isinstance(v, section)}
    return top, sections


async def _form(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "venus"}
    )


async def test_gx_form_keeps_ca_and_fingerprint_in_a_collapsed_tls_section(
    hass: HomeAssistant,
) -> None:
    result = await _form(hass)
    top, sections = _parts(result)
    assert top == TOP | {"portal_id"}
    assert set(sections) == {"tls"}
    assert {str(k) for k in sections["tls"].schema.schema} == {"ca_cert", "fingerprint"}
    assert sections["tls"].options["collapsed"] is True


async def test_a_tls_mode_that_needs_details_opens_the_section_with_its_error(
    hass: HomeAssistant,
) -> None:
    """CA mode without a certificate: the error shows at the top of the form and the TLS section
    is open, keeping what was typed."""
    flow_id = (await _form(hass))["flow_id"]
    answer: dict[str, Any] = {
        "host": "192.0.2.1",
        "port": 8883,
        "tls_mode": "ca",
        "protocol": "3.1.1",
        "tls": {"ca_cert": "garbage"},
    }
    result = await hass.config_entries.flow.async_configure(flow_id, answer)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "ca_required"}
    _top, sections = _parts(result)
    assert sections["tls"].options["collapsed"] is False
    suggested = {
        str(k): (k.description or {}).get("suggested_value") for k in sections["tls"].schema.schema
    }
    assert suggested == {"ca_cert": "garbage", "fingerprint": None}


async def test_reconfigure_suggests_the_stored_pin_inside_the_open_section(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="c0619ab00001",
        data={
            "entry_type": "venus",
            "host": "192.0.2.1",
            "port": 8883,
            "tls_mode": "pinned",
            "fingerprint": "ab" * 32,
            "ca_cert": None,
            "username": "",
            "password": "secret",
            "protocol": "3.1.1",
            "portal_id": "c0619ab00001",
        },
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    top, sections = _parts(result)
    assert top == TOP
    assert sections["tls"].options["collapsed"] is False
    suggested = {
        str(k): (k.description or {}).get("suggested_value") for k in sections["tls"].schema.schema
    }
    assert suggested == {"ca_cert": None, "fingerprint": "ab" * 32}

"""The Venus GX config flow never sends a password to the browser (issue 8, §3).

Every form is read the way the frontend reads it: over Home Assistant's HTTP API
(``/api/config/config_entries/flow``), as JSON. The stored password must not appear in the
reconfigure form (it was the field's default, shown by the eye icon), nor in the reauth form, nor
in a form shown again after an error. In reconfigure an empty password keeps the stored one; a
new one replaces it. Real mosquitto and the GX simulator.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_venus.const import DOMAIN
from tests.components.venus_support import (  # fixtures are imported by name
    HOST,
    PASSWORD,
    USER,
    broker,
    fast,
    gx,
    setup_entry,
    wait_for,
)
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker, free_port

__all__ = ["broker", "fast", "gx"]

pytestmark = pytest.mark.usefixtures("fast")

FLOWS = "/api/config/config_entries/flow"


class Browser:
    """The frontend's side of a config flow: JSON over the HTTP API, as an admin."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.texts: list[str] = []  # every response body, as the browser received it

    async def _json(self, response: Any) -> dict[str, Any]:
        text = await response.text()
        assert response.status == HTTPStatus.OK, text
        self.texts.append(text)
        return await response.json()  # type: ignore[no-any-return]

    async def start(self, **body: Any) -> dict[str, Any]:
        return await self._json(await self.client.post(FLOWS, json={"handler": DOMAIN, **body}))

    async def send(self, flow_id: str, answer: dict[str, Any]) -> dict[str, Any]:
        return await self._json(await self.client.post(f"{FLOWS}/{flow_id}", json=answer))

    async def show(self, flow_id: str) -> dict[str, Any]:
        return await self._json(await self.client.get(f"{FLOWS}/{flow_id}"))


@pytest.fixture
async def browser(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> Browser:
    """An admin's browser session on Home Assistant's config flow API (the integration and its
    dependencies are set up first: the HTTP server's routes are fixed once a client connects)."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert await async_setup_component(hass, "config", {})
    return Browser(await hass_client())


def _field(form: dict[str, Any], name: str) -> dict[str, Any]:
    """One field of a serialized form (what the frontend renders)."""
    matches: list[dict[str, Any]] = [f for f in form["data_schema"] if f["name"] == name]
    (field,) = matches
    return field


def _no_password_in(field: dict[str, Any]) -> None:
    assert "default" not in field
    assert "suggested_value" not in (field.get("description") or {})


def _answer(port: int, **overrides: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "host": HOST,
        "port": port,
        "tls_mode": "off",
        "username": USER,
        "password": PASSWORD,
        "protocol": "3.1.1",
    }
    answer.update(overrides)
    return {k: v for k, v in answer.items() if v is not None}


async def test_reconfigure_form_does_not_send_the_stored_password(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator, browser: Browser
) -> None:
    """The reconfigure form shows host, port and username, but the password field is empty;
    submitted empty, the stored password is kept (and works)."""
    entry = await setup_entry(hass, broker)
    form = await browser.start(entry_id=entry.entry_id)
    assert form["step_id"] == "reconfigure_venus"
    _no_password_in(_field(form, "password"))
    assert _field(form, "host")["description"] == {"suggested_value": HOST}
    assert _field(form, "username")["description"] == {"suggested_value": USER}

    # an error shows the form again: what was typed comes back, the password does not
    port = free_port()
    result = await browser.send(form["flow_id"], _answer(port))
    assert result["errors"] == {"base": "gx_cannot_connect"}
    _no_password_in(_field(result, "password"))
    assert _field(result, "port")["description"] == {"suggested_value": port}

    result = await browser.send(form["flow_id"], _answer(broker.port, password=""))
    assert (result["type"], result["reason"]) == ("abort", "reconfigure_successful")
    assert entry.data["password"] == PASSWORD  # kept: the field stayed empty
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert all(PASSWORD not in text for text in browser.texts)


async def test_reconfigure_without_password_field_keeps_the_stored_one(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator, browser: Browser
) -> None:
    """The frontend leaves an untouched optional field out of the answer: kept as well."""
    entry = await setup_entry(hass, broker)
    form = await browser.start(entry_id=entry.entry_id)
    result = await browser.send(form["flow_id"], _answer(broker.port, password=None))
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["password"] == PASSWORD


async def test_reconfigure_with_a_new_password_replaces_it(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator, browser: Browser
) -> None:
    """A typed password is the new one: checked against the broker, then stored."""
    entry = await setup_entry(hass, broker)
    broker.users[USER] = "changed-on-the-gx"
    broker.restart()
    await wait_for(lambda: gx.connects >= 2, timeout=10, what="simulator back")
    form = await browser.start(entry_id=entry.entry_id)
    result = await browser.send(form["flow_id"], _answer(broker.port, password=""))
    assert result["errors"] == {"base": "gx_invalid_auth"}  # the stored one was tried
    _no_password_in(_field(result, "password"))
    result = await browser.send(form["flow_id"], _answer(broker.port, password="changed-on-the-gx"))
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["password"] == "changed-on-the-gx"
    assert all("changed-on-the-gx" not in text for text in browser.texts)
    assert all(PASSWORD not in text for text in browser.texts)


async def test_user_form_does_not_echo_the_typed_password(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator, browser: Browser
) -> None:
    """After an error the user step shows what was typed, except the password."""
    menu = await browser.start()
    form = await browser.send(menu["flow_id"], {"next_step_id": "venus"})
    _no_password_in(_field(form, "password"))
    result = await browser.send(form["flow_id"], _answer(free_port()))
    assert result["errors"] == {"base": "gx_cannot_connect"}
    assert _field(result, "host")["description"] == {"suggested_value": HOST}
    _no_password_in(_field(result, "password"))
    assert all(PASSWORD not in text for text in browser.texts)


async def test_reauth_form_does_not_send_a_password(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator, browser: Browser
) -> None:
    """Reauth suggests the username only, before and after a refused password."""
    entry = await setup_entry(hass, broker)
    started = await entry.start_reauth_flow(hass)
    form = await browser.show(started["flow_id"])
    assert form["step_id"] == "reauth_confirm"
    _no_password_in(_field(form, "password"))
    assert _field(form, "username")["description"] == {"suggested_value": USER}
    result = await browser.send(form["flow_id"], {"username": USER, "password": "nope"})
    assert result["errors"] == {"base": "gx_invalid_auth"}
    _no_password_in(_field(result, "password"))
    assert all(PASSWORD not in text and "nope" not in text for text in browser.texts)

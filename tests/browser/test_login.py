"""scripts/develop gives a new user a usable Home Assistant, also the second time (issue 8 §1).

One develop instance serves both tests of this module (a module fixture): develop is started in a
fresh folder, asked what the frontend asks, stopped with Ctrl-C, and started again on the same
folder with the first run's broker port taken (as after a reboot), so the saved GX entry must move
to the new broker. Then:

- the browser test logs in as demo/victron in the real frontend (Debian's Chromium through
  Playwright) and finds the integration's card on the integrations page;
- the long test checks what each run answered (websocket `get_services` and `get_config` without
  error, the HTTP settings in storage and nothing to confirm, no http repair, onboarding handled on
  the rerun, the GX entry on the new port) and waits past the 5-minute mark of the second run: a
  pending HTTP configuration would restart Home Assistant then, closing the websocket opened
  before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
from pathlib import Path
import socket
import time
from typing import Any

import aiohttp
import pytest
import pytest_socket

from tests.browser.develop_instance import (
    DevelopRun,
    HomeAssistantSession,
    free_port,
    stored,
)
from tests.shared import REPO, fixture_path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
#: where the browser test leaves its screenshot (git-ignored)
SCREENSHOT = REPO / ".dev" / "screenshots" / "integrations.png"
#: Home Assistant reverts an unconfirmed (pending) HTTP configuration and restarts after this long
HTTP_REVERT_S = 300
#: the demo's devices: 6 VE.Direct, 14 from the GX recording, 2 JBD batteries, the bank, the logbook
#: The demo's config entries: 6 VE.Direct, GX, logbook, 2 JBD, JK, House bank, Boat bank.
DEMO_ENTRIES = 13
DOMAIN = "victron_venus"


def _our_devices(config_dir: Path) -> int:
    """How many devices the registry holds for our config entries (what the card counts)."""
    entries = {
        e["entry_id"]
        for e in stored(config_dir, "core.config_entries")["entries"]
        if e["domain"] == DOMAIN
    }
    devices = stored(config_dir, "core.device_registry")["devices"]
    # the storage format names one entry per device (`config_entry_id`); older ones a list
    return sum(
        bool(entries & {d.get("config_entry_id"), *d.get("config_entries", ())}) for d in devices
    )


async def frontend_answers(port: int) -> dict[str, dict[str, Any]]:
    """What the frontend asks at load, and what the tests check, over one websocket."""
    async with (
        aiohttp.ClientSession() as session,
        HomeAssistantSession(session, port) as ha,
    ):
        return {
            kind: await ha.command(kind)
            for kind in ("get_services", "get_config", "http/config", "repairs/list_issues")
        }


@dataclass
class Twice:
    """The two runs of develop on one folder, and what Home Assistant answered in each."""

    root: Any
    port: int
    first: DevelopRun
    first_code: int
    first_answers: dict[str, dict[str, Any]]
    second: DevelopRun
    second_answers: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def develop_twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twice]:
    """develop in a fresh folder, stopped, then again on the same folder (left running)."""
    fixture_path("vedirect")  # fails loudly when ../shared is missing
    # loopback sockets (the tests themselves request `socket_enabled`, as every test that talks
    # to a local server does: Home Assistant's test plugin blocks sockets before each test)
    pytest_socket.enable_socket()
    root = tmp_path_factory.mktemp("develop")
    port = free_port()
    first = DevelopRun(root, port, root / "first.out").start()
    try:
        first.wait_ready(600)
        first_answers = asyncio.run(frontend_answers(port))
    finally:
        first_code = first.stop()
    # the first run's broker port is now someone else's: the saved GX entry must move
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with contextlib.suppress(OSError):  # taken already: develop must move the entry all the same
        blocker.bind(("127.0.0.1", first.broker_port()))
        blocker.listen()
    second = DevelopRun(root, port, root / "second.out").start()
    try:
        second.wait_ready(600)
        second_answers = asyncio.run(frontend_answers(port))
        yield Twice(root, port, first, first_code, first_answers, second, second_answers)
    finally:
        second.stop()
        blocker.close()


@pytest.mark.timeout(1500)  # includes the module fixture: two develop runs
def test_demo_user_logs_in_and_sees_the_integrations_page(
    develop_twice: Twice, socket_enabled: None
) -> None:
    """The real frontend in Chromium: log in as demo/victron, the sidebar and our card render."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError, sync_playwright

    base = f"http://127.0.0.1:{develop_twice.port}"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 640})
            page.set_default_timeout(60_000)
            page.goto(base + "/")
            page.fill("input[name=username]", "demo")
            page.fill("input[name=password]", "victron")
            page.keyboard.press("Enter")
            page.locator("ha-sidebar").wait_for()
            assert "/auth/" not in page.url
            # the app took over: the "Loading..." launch screen is gone (it stayed when the
            # frontend's `get_services` failed)
            page.locator("#ha-launch-screen").wait_for(state="detached")
            page.get_by_text("Settings", exact=True).first.wait_for()
            page.goto(base + "/config/integrations/dashboard")
            page.locator("#ha-launch-screen").wait_for(state="detached")
            card = page.locator('ha-integration-card[data-domain="victron_venus"]')
            try:
                card.wait_for()
            except PlaywrightTimeoutError:
                # seen once in about a dozen CI runs, right after the rerun started, with
                # nothing in Home Assistant's log (cause not found): keep what the page showed
                # (screenshot, URL, the cards it had), then load the page once more
                page.screenshot(path=SCREENSHOT.with_name("integrations-first-try.png"))
                print(
                    f"no card of ours after 60 s at {page.url}; integration cards on the "
                    f"page: {page.locator('ha-integration-card').count()}; reloading once"
                )
                page.reload()
                page.locator("#ha-launch-screen").wait_for(state="detached")
                card.wait_for()
            # the card counts exactly the devices the registry holds for our entries
            card.get_by_text(f"{_our_devices(develop_twice.root / 'config')} devices").wait_for()
            page.screenshot(path=SCREENSHOT)
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 0


def _check_answers(answers: dict[str, dict[str, Any]], port: int) -> None:
    """What every run must answer: the frontend's calls succeed, nothing HTTP to confirm."""
    for kind, answer in answers.items():
        assert answer["success"] is True, (kind, answer.get("error"))
    services = answers["get_services"]["result"]
    assert "victron_venus" in services
    assert "conversation" in services  # hassil & co. are installed: the frontend's services load
    config = answers["get_config"]["result"]
    assert config["state"] == "RUNNING"
    assert "victron_venus" in config["components"]
    http = answers["http/config"]["result"]
    assert http["pending"] is None
    assert http["revert_at"] is None
    assert http["active_config_type"] == "stable"
    assert http["stable"]["server_port"] == port
    issues = answers["repairs/list_issues"]["result"]["issues"]
    assert [issue for issue in issues if issue["domain"] == "http"] == []


@pytest.mark.timeout(1500)  # includes the module fixture when run alone, and the 5-minute wait
def test_develop_twice_in_a_fresh_folder_and_past_five_minutes(
    develop_twice: Twice, socket_enabled: None
) -> None:
    """Both runs answer the frontend; the rerun reuses its folder; no restart at 5 minutes."""
    runs = develop_twice
    config_dir = runs.root / "config"
    assert runs.first_code == 0, runs.first.text[-3000:]
    assert "http:" not in (config_dir / "configuration.yaml").read_text()
    _check_answers(runs.first_answers, runs.port)
    _check_answers(runs.second_answers, runs.port)

    first, second = runs.first.lines(), runs.second.lines()
    assert "develop: onboarding: creating the demo user" in first
    # every entry of ours was made by one config flow of the first run (6 VE.Direct, the GX,
    # the logbook, 2 JBD, the JK, 2 banks); options flows also end in create_entry
    ours = [
        e for e in stored(config_dir, "core.config_entries")["entries"] if e["domain"] == DOMAIN
    ]
    made = [line for line in first if line.startswith("develop: config flow")]
    assert len(ours) == DEMO_ENTRIES
    assert sum("create_entry" in line for line in made) == DEMO_ENTRIES
    assert "develop: onboarding was done by an earlier run: logging in as demo" in second
    reused = f"has {DEMO_ENTRIES} entries from an earlier run: reusing them"
    assert any(reused in line for line in second)
    # no new entry on the rerun (its options flows, Control on and the bank's GX, end in
    # create_entry too, and are not entries)
    assert not [line for line in second if "config flow" in line and "create_entry" in line]
    # the saved GX entry follows the new broker (the first run's port is held by someone else)
    assert runs.second.broker_port() != runs.first.broker_port()
    entries = stored(config_dir, "core.config_entries")["entries"]
    venus = [entry for entry in entries if entry["data"].get("portal_id")]
    assert [e["data"]["port"] for e in venus] == [runs.second.broker_port()]
    for run in (runs.first, runs.second):
        # Home Assistant's console is develop's: no blocking call of ours in the event loop
        # (the sources used to be imported there), and develop never failed
        assert [
            line
            for line in run.text.splitlines()
            if "Detected blocking call" in line and "custom_components/victron_venus" in line
        ] == []
        assert [line for line in run.lines() if "FAILED" in line] == []

    async def past_the_mark() -> dict[str, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as session,
            HomeAssistantSession(session, runs.port) as ha,
        ):
            assert runs.second.hass_started is not None
            mark = runs.second.hass_started + HTTP_REVERT_S + 30
            # the same websocket answers all along (the frontend pings too, and reading keeps
            # the connection's heartbeat answered): a restart would close it
            while (left := mark - time.monotonic()) > 0:
                assert (await ha.command("ping"))["type"] == "pong"
                await asyncio.sleep(min(left, 20))
            assert (await ha.command("ping"))["type"] == "pong"
            return {
                kind: await ha.command(kind)
                for kind in ("get_services", "get_config", "http/config", "repairs/list_issues")
            }

    _check_answers(asyncio.run(past_the_mark()), runs.port)
    assert runs.second.process is not None
    assert runs.second.process.poll() is None, runs.second.text[-3000:]
    assert "Pending HTTP config was not confirmed" not in runs.second.text


# The boat dashboard and the README's screenshots are collected in this module, so that they use
# its develop instance (CI's `--dist loadfile` would start another one for another file).
from tests.browser.boat_pages import (  # noqa: E402, F401
    test_boat_dashboard_is_installed_with_demo_entities,
    test_boat_dashboard_renders_without_card_errors,
    test_screenshots_of_the_product,
)

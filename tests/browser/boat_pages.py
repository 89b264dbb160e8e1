"""The boat dashboard and the README's screenshots, against the browser tests' develop instance.

These tests are collected in test_login.py (imported at its end), so they share its module's
develop instance: CI runs `pytest -n 2 --dist loadfile`, which gives each test file to one
worker, and a second file would start a second develop (a Home Assistant and every simulated
device) on the other worker.

- test_boat_dashboard_is_installed_with_demo_entities: develop installed dashboards/boat.yaml as
  the storage dashboard "Boat" (added by the first run, updated by the rerun, one dashboard), the
  stored configuration is the file's, and every entity the file names exists in the demo.
- test_boat_dashboard_renders_without_card_errors: the real frontend in Chromium shows every
  card of the dashboard and none of them an error ("Entity not available", "Entity not found",
  "Configuration error"); nothing of ours answers an HTTP error (the brand icon was 404).
- test_screenshots_of_the_product: the integration page, a device page, the bank, the logbook
  and the dashboard as small PNGs (1200 x 800, palette, < 150 KB). With SCREENSHOTS=1 they go to
  docs/screenshots/ (what the README shows), else to .dev/screenshots/ (git-ignored), so CI never
  changes the repository.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import re
from typing import TYPE_CHECKING, Any

import aiohttp
from PIL import Image
import pytest
import yaml

from tests.browser.develop_instance import USER, HomeAssistantSession
from tests.shared import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response, ViewportSize

    from tests.browser.test_login import Twice

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
DASHBOARD_FILE = REPO / "dashboards" / "boat.yaml"
DASHBOARD_URL = "boat"
#: the size of every screenshot, and the most a README picture may weigh
VIEWPORT: ViewportSize = {"width": 1200, "height": 800}
MAX_BYTES = 150_000
#: SCREENSHOTS=1 writes the README's pictures; otherwise they go where git does not look
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("SCREENSHOTS", "").strip().lower() in {"1", "true", "yes"}
    else REPO / ".dev" / "screenshots"
)
#: what a Lovelace card shows when it cannot render (hui-warning / hui-error-card texts)
CARD_ERRORS = ("Entity not available", "Entity not found", "Configuration error")
ENTITY_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")


def dashboard_config() -> dict[str, Any]:
    """dashboards/boat.yaml as the dictionary the frontend stores."""
    config = yaml.safe_load(DASHBOARD_FILE.read_text())
    assert isinstance(config, dict)
    return config


def named_entities(node: Any) -> set[str]:
    """Every entity id a Lovelace configuration names (`entity`, `entities` and a target's
    `entity_id`, at any depth)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("entity", "entity_id") and isinstance(value, str):
                found.add(value)
            elif key in ("entities", "entity_id") and isinstance(value, list):
                found |= {item for item in value if isinstance(item, str)}
            found |= named_entities(value)
    elif isinstance(node, list):
        for item in node:
            found |= named_entities(item)
    return found


def card_types(node: Any) -> dict[str, int]:
    """How many cards of each type the configuration has (views and sections excluded)."""
    counts: dict[str, int] = {}
    views = node.get("views", [])
    for view in views:
        for section in view.get("sections", []):
            for card in section.get("cards", []):
                counts[card["type"]] = counts.get(card["type"], 0) + 1
    return counts


async def _ask(port: int, *commands: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Websocket commands as the demo user; their answers."""
    async with (
        aiohttp.ClientSession() as session,
        HomeAssistantSession(session, port) as ha,
    ):
        return [await ha.command(kind, **fields) for kind, fields in commands]


def test_boat_dashboard_is_installed_with_demo_entities(
    develop_twice: Twice, socket_enabled: None
) -> None:
    """develop added the dashboard, the rerun updated it; it is the file, and the demo has every
    entity the file names."""
    runs = develop_twice
    assert "develop: dashboard Boat added from boat.yaml: /boat" in runs.first.lines()
    assert "develop: dashboard Boat updated from boat.yaml: /boat" in runs.second.lines()
    dashboards, stored, states = asyncio.run(
        _ask(
            runs.port,
            ("lovelace/dashboards/list", {}),
            ("lovelace/config", {"url_path": DASHBOARD_URL}),
            ("get_states", {}),
        )
    )
    for answer in (dashboards, stored, states):
        assert answer["success"] is True, answer.get("error")
    boats = [d for d in dashboards["result"] if d["url_path"] == DASHBOARD_URL]
    assert boats == [
        {
            "id": DASHBOARD_URL,
            "url_path": DASHBOARD_URL,
            "title": "Boat",
            "icon": "mdi:sail-boat",
            "mode": "storage",
            "show_in_sidebar": True,
            "require_admin": False,
        }
    ]
    config = dashboard_config()
    assert stored["result"] == config
    named = named_entities(config)
    assert all(ENTITY_ID.match(entity_id) for entity_id in named), named
    present = {state["entity_id"]: state["state"] for state in states["result"]}
    missing = sorted(named - present.keys())
    assert missing == [], missing  # (a helper module: pytest does not rewrite its asserts)
    # the dashboard covers what issue 12 asks for, from every kind of source of the demo
    for needed in (
        "sensor.house_state_of_charge",  # battery (GX)
        "sensor.house_battery_power",
        "sensor.ekrano_gx_pv_power",  # solar
        "sensor.ekrano_gx_ac_input_source",  # shore / inverter
        "sensor.fuel_level",  # tanks
        "device_tracker.nmea_2000_gps_position",  # the GX's GPS on the map
        "sensor.aurora_last_trip",  # the logbook's last trip
        "image.aurora_efficiency_curve",  # the efficiency curve
        "sensor.jbd_battery_fore_cell_1_voltage",  # the bank's cells
        "sensor.house_bank_cell_voltage_spread",
    ):
        assert needed in named, needed


@contextlib.contextmanager
def _browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright (it cannot download its own here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _logged_in(browser: Browser, base: str, failures: list[str]) -> Page:
    """A page logged in as the demo user; HTTP errors of our integration's URLs are collected
    in `failures` (status and URL)."""
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(60_000)

    def on_response(response: Response) -> None:
        if response.status >= 400 and "victron_venus" in response.url:
            failures.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    page.goto(base + "/")
    page.fill("input[name=username]", USER["username"])
    page.fill("input[name=password]", USER["password"])
    page.keyboard.press("Enter")
    page.locator("ha-sidebar").wait_for()
    page.locator("#ha-launch-screen").wait_for(state="detached")
    return page


def _open_dashboard(page: Page, base: str) -> None:
    """The Boat dashboard with every card of the file rendered."""
    page.goto(f"{base}/{DASHBOARD_URL}/0")
    page.locator("#ha-launch-screen").wait_for(state="detached")
    elements = {
        "tile": "hui-tile-card",
        "gauge": "hui-gauge-card",
        "glance": "hui-glance-card",
        "map": "hui-map-card",
        "history-graph": "hui-history-graph-card",
        "picture-entity": "hui-picture-entity-card",
        "heading": "hui-heading-card",
    }
    counts = card_types(dashboard_config())
    assert counts.keys() <= elements.keys(), counts
    for kind, count in counts.items():
        cards = page.locator(elements[kind])
        cards.nth(count - 1).wait_for(state="attached")
        assert cards.count() == count, kind
    page.locator("hui-tile-card ha-tile-info").nth(counts["tile"] - 1).wait_for()
    # the efficiency curve: the image entity's picture, loaded
    page.locator("hui-picture-entity-card hui-image img").wait_for()
    page.wait_for_timeout(1500)  # the map and the graph draw once their data arrive


def _card_errors(page: Page) -> list[str]:
    """The texts of every card error on the page (empty when all cards render)."""
    errors = [
        page.locator(selector).nth(i).inner_text()
        for selector in ("hui-warning", "hui-error-card")
        for i in range(page.locator(selector).count())
    ]
    errors += [text for text in CARD_ERRORS if page.get_by_text(text).count()]
    return errors


@pytest.mark.timeout(600)
def test_boat_dashboard_renders_without_card_errors(
    develop_twice: Twice, socket_enabled: None
) -> None:
    """Every card of the Boat dashboard renders in Chromium; none shows an error."""
    base = f"http://127.0.0.1:{develop_twice.port}"
    failures: list[str] = []
    with _browser() as browser:
        page = _logged_in(browser, base, failures)
        _open_dashboard(page, base)
        assert _card_errors(page) == []
        assert page.get_by_text("Boat", exact=True).first.is_visible()
    assert failures == []


def save_screenshot(page: Page, name: str) -> Path:
    """The page as SCREENSHOTS/<name>.png, reduced to a palette (flat UI colours keep their
    edges without dithering) until it weighs less than MAX_BYTES."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path)
    with Image.open(path) as shot:
        rgb = shot.convert("RGB")
    for colors in (256, 128, 64, 32):
        small = rgb.quantize(
            colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        small.save(path, optimize=True)
        if path.stat().st_size < MAX_BYTES:
            break
    return path


def _device_ids(port: int) -> dict[str, str]:
    """Device name (as shown) -> device id."""
    (answer,) = asyncio.run(_ask(port, ("config/device_registry/list", {})))
    assert answer["success"] is True
    return {device["name_by_user"] or device["name"]: device["id"] for device in answer["result"]}


@pytest.mark.timeout(900)
def test_screenshots_of_the_product(develop_twice: Twice, socket_enabled: None) -> None:
    """The integration page, a VE.Direct device, the bank, the logbook and the dashboard."""
    base = f"http://127.0.0.1:{develop_twice.port}"
    devices = _device_ids(develop_twice.port)
    failures: list[str] = []
    shots: list[Path] = []
    with _browser() as browser:
        page = _logged_in(browser, base, failures)

        page.goto(base + "/config/integrations/integration/victron_venus")
        page.locator("ha-config-integration-page").wait_for()
        page.get_by_text("Ekrano GX").first.wait_for()
        page.get_by_text("House bank").first.wait_for()
        page.wait_for_timeout(1000)
        shots.append(save_screenshot(page, "integration"))

        for name, device, wait_for in (
            ("device", "BMV-712 Smart", "Battery voltage"),
            ("bank", "House bank", "Cell voltage spread"),
            ("logbook", "Aurora", "Navigation state"),
        ):
            page.goto(f"{base}/config/devices/device/{devices[device]}")
            page.locator("ha-config-device-page").wait_for()
            page.get_by_text(wait_for).first.wait_for()
            page.wait_for_timeout(1000)
            assert _card_errors(page) == [], name
            shots.append(save_screenshot(page, name))

        _open_dashboard(page, base)
        shots.append(save_screenshot(page, "dashboard"))
    assert failures == []
    for path in shots:
        with Image.open(path) as image:
            assert image.size == (VIEWPORT["width"], VIEWPORT["height"]), path
        assert 0 < path.stat().st_size < MAX_BYTES, path

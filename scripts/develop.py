"""A live Home Assistant with this integration, fed by real captures (run through scripts/develop).

- Home Assistant runs from .dev/config (git-ignored; `--dir` picks another folder) on
  http://localhost:8123 (`--port`), with the frontend and what it needs (scripts/setup installs the
  requirements of the components the frontend loads: conversation, assist, camera, tts, ...).
- The HTTP server is configured the way Home Assistant now wants it: in its own storage
  (.storage/http, "stable" slot), written here before every start. configuration.yaml has no
  `http:` block, so there is no YAML import, no "Confirm new HTTP server configuration" trial and
  no restart five minutes later.
- Onboarding is completed through Home Assistant's own onboarding API; the user is
  `demo` / `victron` (the README says so). On a later run of the same folder onboarding is done
  (`/api/onboarding` answers 404 then): the driver logs in as that user.
- Every VE.Direct capture in ../shared/fixtures/vedirect is served on its own pseudo-terminal
  (.dev/tty/<name>), one record a second, looping; each is added through the integration's real
  config flow over the HTTP API (never YAML).
- The BlueSolar MPPT 75/15 and the Phoenix 12/1200 also answer VE.Direct HEX (tests/fakes
  HexResponder) and get Control on through their options flow (issue 11); `--check` prints their
  HEX identity, the MPPT's 30-day history imported as statistics (days, kWh) and makes one
  confirmed write on each (load output off, inverter mode eco).
- Two JBD batteries are simulated on pseudo-terminals (serial transport, 9600 8N1): fake BMSes
  that answer each request with the frames of the two btsnoop captures in ../shared/fixtures/jbd
  (tests/fakes/jbd_bms.py); both are added through the JBD battery config flow, then combined
  into a battery bank (series) through the bank config flow.
- A Bluetooth battery of another brand (issue 13): a fake Bluetooth proxy inside Home Assistant
  (tests/fakes/ble_sim_component, linked into the config as a development-only integration) hears
  a JK BMS that answers with aiobmsble's own test frames; it is added through the Bluetooth
  battery flow. A second bank ("Boat bank", parallel) combines the fore JBD battery with the GX's
  House battery service, through the bank flow.
- A Venus GX is simulated: mosquitto (an in-process amqtt broker where mosquitto is not installed)
  on a loopback port (the previous run's port when it is free, else any free one), with the
  password demo/victron when mosquitto runs it, and the GX simulator
  (tests/fakes/gx_simulator.py) replaying the real boat recording in ../shared/fixtures/venus_mqtt
  with Venus semantics; it is added through the Venus GX config flow.
- The GX's GPS (gps/93) sails the real 4-hour track ../shared/fixtures/gps/plaka.nmea in real time
  (a fix every 2 s: position, speed over ground, course), from before Home Assistant starts; a
  Logbook entry ("Aurora") on the GX GPS's device tracker and speed sensor is added through the
  Logbook config flow. The logbook sees the boat under way within a minute and announces the trip
  about three minutes after it starts watching (the 3 min minimum trip duration).
- A rerun of the same folder reuses its entries on purpose: every config flow is run again; the
  GX and logbook flows answer "already configured" (the GX flow moving the saved entry to this
  run's broker port), the devices' ptys keep their paths and are held by their entries ("kept");
  the bank is only created when missing. wait_live then checks that every device is live.
- Ctrl-C stops Home Assistant and the replays. If Home Assistant exits by itself, develop says so
  and exits 1.

`--check` does the same headless in a throw-away config folder on a free port, waits until every
configured device's entities have live states and the logbook has a trip under way, prints them as
a table and exits 0 (1 on timeout). To keep the check short, its logbook's shortest trip is set to
1 minute through the options flow (the demo keeps the 3 minute default).

scripts/soak uses `running()` to bring the same setup up with its devices sped up (`speed`).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.gx_simulator import GxSimulator  # noqa: E402
from tests.fakes.jbd_bms import (  # noqa: E402
    TRANSCRIPT,
    TRANSCRIPT_V13,
    FakeBms,
    SerialFakeBms,
    transcript,
)
from tests.fakes.mosquitto import Broker, find_mosquitto, start_broker  # noqa: E402
from tests.fakes.vedirect_device import PtyDevice, VEDirectReplay  # noqa: E402
from tests.trips.nmea import load_nmea  # noqa: E402

FIXTURES = REPO.parent / "shared" / "fixtures"
DOMAIN = "victron_venus"
USER = {"name": "Demo", "username": "demo", "password": "victron"}

#: (pty name, capture file) for every VE.Direct capture
VEDIRECT_CAPTURES = (
    ("bmv702", "karioja_bvm702.dump"),
    ("bmv712", "dbr_vedirect-rs_bmv712_partial_stream.bin"),
    ("smartsolar_100_20", "karioja_smartsolar_1.39.dump"),
    ("smartsolar_150_70", "kindr007_fake_smartsolar_150_70_rev3_0xA06C_split_blocks_hex.bin"),
    ("bluesolar_75_15", "karioja_bluesolar_1.23.dump"),
    ("phoenix_12_1200", "rexlinz_phoenix_12_1200_0xA2F1_garbage_then_block.bin"),
)

#: (pty name, btsnoop transcript) of each simulated JBD battery; the bank combines them
JBD_BATTERIES = (("fore", TRANSCRIPT), ("aft", TRANSCRIPT_V13))
BANK_NAME = "House bank"
#: devices whose every entity must have a value before --check passes (JBD titles: "JBD battery"
#: and the port's name, since the captures never answer 0x05 with a model string)
JBD_DEVICES = (*(f"JBD battery {name}" for name, _ in JBD_BATTERIES), BANK_NAME)

#: the simulated GX's MQTT login (mosquitto only; the amqtt fallback is anonymous)
GX_LOGIN = {"username": "demo", "password": "victron"}
#: the devices the GX's recording becomes (the GX itself: its model, from platform/0)
GX_DEVICES = (
    "Ekrano GX",
    "House",
    "Starter",
    "Bimini",
    "House inverter/charger",
    "NMEA 2000 GPS",
    "Fuel",
    "Fresh Water",
    "Black Water",
    "Outside",
    "Inside",
    "Water",
    "Fridge Temp",
    "Refrigeration",
)

#: the GX recording's GPS service, which sails the plaka track
GPS_SERVICE = "gps/93"
GPS_DEVICE = "NMEA 2000 GPS"
#: the Logbook entry's title (its device)
LOGBOOK_NAME = "Aurora"

CONFIGURATION_YAML = """\
homeassistant:
  name: Victron Venus demo
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: FI
  latitude: 60.15
  longitude: 24.95
  elevation: 0
frontend:
config:
history:
logbook:
energy:
recorder:
  purge_keep_days: 3
system_health:
logger:
  default: warning
  logs:
    custom_components.victron_venus: info
"""


def log(message: str) -> None:
    """Print a progress line of the driver."""
    print(f"develop: {message}", flush=True)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Demo:
    """What the demo runs: where, on which port, with which devices, how fast.

    `root` holds config/ (Home Assistant's folder), tty/ (the ptys) and mqtt/ (the broker).
    `host` None binds Home Assistant on every interface (its default). `speed` > 1 replays the
    devices faster than real time (scripts/soak): VE.Direct records and the GPS track.
    """

    root: Path
    port: int
    host: str | None
    check: bool
    speed: float = 1.0
    #: Home Assistant's console output is dropped (it still logs to config/home-assistant.log)
    quiet: bool = False

    @property
    def config_dir(self) -> Path:
        """Home Assistant's configuration folder."""
        return self.root / "config"

    @property
    def base(self) -> str:
        """Base URL of Home Assistant."""
        return f"http://127.0.0.1:{self.port}"


class HomeAssistantClient:
    """The few REST calls the demo needs: onboarding, login, config flows, templates."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        """Talk to Home Assistant at `base`."""
        self.session = session
        self.base = base
        self.client_id = base + "/"
        self.token: str | None = None

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with self.session.request(
            method, self.base + path, headers=headers, **kwargs
        ) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {text[:300]}")
            return json.loads(text) if text else None

    async def status(self, path: str) -> int:
        """HTTP status of a GET without credentials (any answer, 401 and 404 included)."""
        async with self.session.get(self.base + path) as resp:
            await resp.read()
            return resp.status

    async def wait_started(self, timeout: float, process: subprocess.Popen[bytes]) -> None:
        """Wait until the HTTP server answers at all (and the process is alive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"Home Assistant exited with code {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                await self.status("/api/onboarding")
                return
            await asyncio.sleep(0.5)
        raise TimeoutError("Home Assistant did not start its HTTP server in time")

    async def _token_from_code(self, code: str) -> None:
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        result = await self._json("POST", "/auth/token", data=data)
        self.token = result["access_token"]

    async def onboarding_steps(self, config_dir: Path, timeout: float) -> dict[str, bool] | None:
        """Onboarding's steps (name -> done), or None when onboarding is complete.

        Home Assistant serves `/api/onboarding` only while onboarding is unfinished: a 404 means
        either "done" or "not set up yet". The folder's own .storage/onboarding tells which.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.session.get(self.base + "/api/onboarding") as resp:
                    text = await resp.text()
                    if resp.status == 200:
                        return {step["step"]: step["done"] for step in json.loads(text)}
            if onboarded(config_dir):
                return None
            await asyncio.sleep(0.5)
        raise TimeoutError("Home Assistant did not serve its onboarding in time")

    async def login(self, timeout: float) -> None:
        """Log in as the demo user through the login flow (retried until the auth API is up)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                flow = await self._json(
                    "POST",
                    "/auth/login_flow",
                    json={
                        "client_id": self.client_id,
                        "handler": ["homeassistant", None],
                        "redirect_uri": self.client_id,
                    },
                )
                result = await self._json(
                    "POST",
                    f"/auth/login_flow/{flow['flow_id']}",
                    json={
                        "client_id": self.client_id,
                        "username": USER["username"],
                        "password": USER["password"],
                    },
                )
            except (aiohttp.ClientError, RuntimeError) as err:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not log in as {USER['username']}: {err}") from err
                await asyncio.sleep(0.5)
                continue
            if result.get("type") != "create_entry":
                raise RuntimeError(
                    f"the login as {USER['username']} was refused ({result.get('errors')}); "
                    "remove the folder's config/ to start afresh"
                )
            await self._token_from_code(result["result"])
            return

    async def onboard_or_login(self, config_dir: Path, timeout: float) -> None:
        """Complete onboarding on a new config, else log in as the demo user."""
        steps = await self.onboarding_steps(config_dir, timeout)
        if steps is None:
            log("onboarding was done by an earlier run: logging in as demo")
            await self.login(timeout)
            return
        if not steps.get("user"):
            log("onboarding: creating the demo user")
            result = await self._json(
                "POST",
                "/api/onboarding/users",
                json={**USER, "client_id": self.client_id, "language": "en"},
            )
            await self._token_from_code(result["auth_code"])
        else:
            await self.login(timeout)
        for step, path, body in (
            ("core_config", "/api/onboarding/core_config", None),
            ("analytics", "/api/onboarding/analytics", None),
            (
                "integration",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": self.client_id},
            ),
        ):
            if not steps.get(step):
                await self._json("POST", path, json=body or {})

    async def wait_running(self, timeout: float) -> None:
        """Wait until Home Assistant reports RUNNING."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            config = await self._json("GET", "/api/config")
            if config.get("state") == "RUNNING":
                return
            await asyncio.sleep(0.5)
        raise TimeoutError("Home Assistant did not reach RUNNING")

    async def config_flow(self, answers: list[dict[str, Any]]) -> dict[str, Any]:
        """Run the integration's config flow with the given answers, step by step."""
        result = await self._json(
            "POST", "/api/config/config_entries/flow", json={"handler": DOMAIN}
        )
        for answer in answers:
            if result["type"] not in ("form", "menu"):
                break
            result = await self._json(
                "POST", f"/api/config/config_entries/flow/{result['flow_id']}", json=answer
            )
        return dict(result)

    async def options_flow(self, entry_id: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Run an entry's options flow with one answer (unchanged fields keep their values)."""
        result = await self._json(
            "POST", "/api/config/config_entries/options/flow", json={"handler": entry_id}
        )
        result = await self._json(
            "POST", f"/api/config/config_entries/options/flow/{result['flow_id']}", json=answer
        )
        return dict(result)

    async def entries(self) -> list[dict[str, Any]]:
        """The integration's config entries (entry_id, title, state, ...)."""
        result = await self._json("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
        return list(result)

    async def entity_rows(self) -> list[list[str]]:
        """[device, entity_id, state, unit] of every entity of the integration."""
        template = (
            "{% set ns = namespace(rows=[]) %}"
            f"{{% for e in integration_entities('{DOMAIN}') %}}"
            "{% set d = device_id(e) %}"
            "{% set ns.rows = ns.rows + [[device_attr(d, 'name_by_user') or "
            "device_attr(d, 'name') or '', e, states(e), "
            "state_attr(e, 'unit_of_measurement') or '']] %}"
            "{% endfor %}{{ ns.rows | tojson }}"
        )
        async with self.session.post(
            self.base + "/api/template",
            headers={"Authorization": f"Bearer {self.token}"},
            json={"template": template},
        ) as resp:
            return list(json.loads(await resp.text()))


def onboarded(config_dir: Path) -> bool:
    """True when the folder's Home Assistant has finished onboarding (its .storage/onboarding)."""
    path = config_dir / ".storage" / "onboarding"
    try:
        done = json.loads(path.read_text())["data"]["done"]
    except OSError, ValueError, KeyError, TypeError:
        return False
    return {"user", "core_config", "analytics", "integration"} <= set(done)


def http_storage(config_dir: Path, port: int, host: str | None) -> dict[str, Any]:
    """The content of .storage/http that makes Home Assistant listen on `host`:`port`.

    Home Assistant keeps its HTTP settings in storage (Settings > System > Network): a confirmed
    "stable" slot and a "pending" one under trial, which reverts and restarts Home Assistant after
    5 minutes unless confirmed. The demo writes its port into the stable slot (keeping anything
    else a user set there), clears any pending trial and marks the YAML migration done, so nothing
    asks to be confirmed. Validated with Home Assistant's own schema; ValueError when invalid.
    """
    from homeassistant.components.http import config as http_config
    import probatio

    path = config_dir / ".storage" / http_config.STORAGE_KEY
    stable: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        stable = dict(json.loads(path.read_text())["data"]["stable"])
    settings = {
        k: v
        for k, v in stable.items()
        if k not in ("created_at", "error", "error_message", "server_host", "server_port")
    }
    settings["server_port"] = port
    if host is not None:
        settings["server_host"] = [host]
    try:
        validated = http_config.HTTP_STORAGE_SCHEMA(settings)
    except probatio.Invalid as err:
        raise ValueError(f"{path}: invalid HTTP settings {settings}: {err}") from err
    return {
        "version": http_config.STORAGE_VERSION,
        "minor_version": http_config.STORAGE_MINOR_VERSION,
        "key": http_config.STORAGE_KEY,
        "data": {
            "stable": {
                **validated,
                "created_at": stable.get("created_at") or datetime.now(UTC).isoformat(),
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    }


def write_config(demo: Demo) -> None:
    """configuration.yaml (no `http:` block), .storage/http and the custom_components link."""
    demo.config_dir.mkdir(parents=True, exist_ok=True)
    (demo.config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML)
    storage = demo.config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    http = storage / "http"
    tmp = http.with_name("http.new")
    tmp.write_text(json.dumps(http_storage(demo.config_dir, demo.port, demo.host), indent=2))
    tmp.chmod(0o600)
    tmp.replace(http)
    components = demo.config_dir / "custom_components"
    components.mkdir(exist_ok=True)
    link = components / DOMAIN
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(REPO / "custom_components" / DOMAIN)


def start_vedirect(tty_dir: Path, interval: float) -> tuple[list[PtyDevice], list[VEDirectReplay]]:
    """A pty per VE.Direct capture and its replay (a record every `interval` s; `.run()` sends)."""
    tty_dir.mkdir(parents=True, exist_ok=True)
    devices: list[PtyDevice] = []
    replays: list[VEDirectReplay] = []
    for name, filename in VEDIRECT_CAPTURES:
        capture = FIXTURES / "vedirect" / filename
        if not capture.exists():
            raise FileNotFoundError(f"{capture} is missing: ../shared must sit beside the repo")
        device = PtyDevice(tty_dir / name)
        devices.append(device)
        # issue 11: the MPPT and the Phoenix answer HEX (tests/fakes HexResponder)
        hex_on = any(name == ve_name for ve_name, _serial in VEDIRECT_CONTROL)
        replays.append(VEDirectReplay(device, capture.read_bytes(), interval, hex=hex_on))
    return devices, replays


def start_jbd(tty_dir: Path) -> tuple[list[PtyDevice], list[Any]]:
    """A pty per simulated JBD battery with a fake BMS behind it; devices and server coroutines."""
    tty_dir.mkdir(parents=True, exist_ok=True)
    devices, coroutines = [], []
    for name, capture in JBD_BATTERIES:
        device = PtyDevice(tty_dir / name)
        devices.append(device)
        coroutines.append(SerialFakeBms(device, FakeBms(transcript(capture))).run())
    return devices, coroutines


def outcome(result: dict[str, Any], rerun: bool) -> str:
    """A config flow's result in a few words. On a rerun a device's port is held by its entry
    from the earlier run, so the flow's "cannot_open" means "kept" (wait_live then checks that
    every device is live)."""
    errors = result.get("errors") or {}
    if rerun and result["type"] == "form" and errors.get("base") == "cannot_open":
        return "kept: its entry from the earlier run holds the port"
    detail = result.get("title") or result.get("reason") or errors
    return f"{result['type']} ({detail})"


async def add_vedirect(client: HomeAssistantClient, devices: list[PtyDevice], rerun: bool) -> None:
    """Each VE.Direct pty through the VE.Direct config flow."""
    for device in devices:
        result = await client.config_flow(
            [{"next_step_id": "vedirect"}, {"serial_port": str(device.link)}]
        )
        log(f"config flow {device.link.name}: {outcome(result, rerun)}")


async def add_jbd(client: HomeAssistantClient, devices: list[PtyDevice], rerun: bool) -> None:
    """Each simulated battery through the JBD serial flow, then the bank through its flow.

    On a rerun the batteries' ptys are held by their entries from the earlier run ("kept"); the
    bank is created only when no entry has its name, from the batteries' entries found by title.
    """
    entry_ids = []
    for device in devices:
        result = await client.config_flow(
            [
                {"next_step_id": "jbd"},
                {"next_step_id": "jbd_serial"},
                {"serial_port": str(device.link)},
            ]
        )
        log(f"config flow JBD {device.link.name}: {outcome(result, rerun)}")
        if result["type"] == "create_entry":
            entry_ids.append(result["result"]["entry_id"])
    entries = await client.entries()
    if any(entry["title"] == BANK_NAME for entry in entries):
        log(f"config flow bank: skipped ({BANK_NAME!r} is configured already)")
        return
    if len(entry_ids) < len(devices):
        titles = {f"JBD battery {device.link.name}" for device in devices}
        entry_ids = [entry["entry_id"] for entry in entries if entry["title"] in titles]
    result = await client.config_flow(
        [
            {"next_step_id": "bank"},
            {"name": BANK_NAME, "members": entry_ids, "wiring": "series"},
            {},
        ]
    )
    log(f"config flow bank: {result['type']} ({result.get('title') or result.get('reason')})")


# --- issue 13: a Bluetooth battery of another brand, and a bank of a JBD battery and the GX ------
#: the Bluetooth battery simulated inside Home Assistant by tests/fakes/ble_sim_component (a fake
#: Bluetooth proxy that hears a JK BMS answering with aiobmsble's own test frames)
BLE_SIM_DOMAIN = "victron_venus_ble_sim"
BLE_BATTERY_ADDRESS = "C8:47:80:14:88:B7"
BLE_BATTERY_NAME = "JK_B2A8S20P"
#: the second bank: the fore JBD battery and the GX's House battery service, in parallel
MIXED_BANK_NAME = "Boat bank"
MIXED_BANK_MEMBERS = ("JBD battery fore", ": House")  # a battery entry's title, a GX label's end
#: devices of this block (the Bluetooth battery: every entity must have a value before --check
#: passes; the mixed bank: those below; the rest stays unknown while the GX service lacks it, and
#: its "Missing battery values" sensor says what)
BLE_DEVICES = (BLE_BATTERY_NAME, MIXED_BANK_NAME)
MIXED_BANK_LIVE = (
    "_battery_voltage", "_battery_current", "_battery_power", "_state_of_charge",
    "_lowest_cell_voltage", "_highest_cell_voltage", "_missing_battery_values",
)  # fmt: skip


def write_ble_sim(demo: Demo) -> None:
    """Link the simulated Bluetooth proxy into the config and name it in configuration.yaml."""
    link = demo.config_dir / "custom_components" / BLE_SIM_DOMAIN
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(REPO / "tests" / "fakes" / "ble_sim_component")
    config = demo.config_dir / "configuration.yaml"
    text = config.read_text()
    if f"\n{BLE_SIM_DOMAIN}:" not in text:
        config.write_text(f"{text}{BLE_SIM_DOMAIN}:\n")


async def add_ble_battery(client: HomeAssistantClient) -> None:
    """The simulated JK battery through the Bluetooth battery flow (user step: pick it)."""
    entries = await client.entries()
    if any(entry["title"] == BLE_BATTERY_NAME for entry in entries):
        log(f"config flow Bluetooth battery: skipped ({BLE_BATTERY_NAME!r} is configured already)")
        return
    result = await client.config_flow(
        [{"next_step_id": "ble_battery"}, {"address": BLE_BATTERY_ADDRESS}]
    )
    log(f"config flow Bluetooth battery {BLE_BATTERY_ADDRESS}: {outcome(result, False)}")


async def add_mixed_bank(client: HomeAssistantClient, timeout: float = 120) -> None:
    """The second bank: the fore JBD battery and the GX's House battery service, in parallel.

    The members are picked from the bank form's own list (the GX service is listed once its
    voltage entity exists, so this waits for it, up to `timeout` s).
    """
    if any(entry["title"] == MIXED_BANK_NAME for entry in await client.entries()):
        log(f"config flow bank: skipped ({MIXED_BANK_NAME!r} is configured already)")
        return
    flows = "/api/config/config_entries/flow"
    request = client._json  # the client's one request helper
    deadline = time.monotonic() + timeout
    while True:
        flow = await request("POST", flows, json={"handler": DOMAIN})
        form = await request("POST", f"{flows}/{flow['flow_id']}", json={"next_step_id": "bank"})
        field = next(f for f in form["data_schema"] if f["name"] == "members")
        options = field["selector"]["select"]["options"]
        chosen = [
            next((o["value"] for o in options if o["label"].endswith(end)), None)
            for end in MIXED_BANK_MEMBERS
        ]
        if all(chosen):
            break
        await request("DELETE", f"{flows}/{flow['flow_id']}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bank form never listed {MIXED_BANK_MEMBERS}: {options}")
        await asyncio.sleep(2)
    answer = {"name": MIXED_BANK_NAME, "members": chosen, "wiring": "parallel"}
    result = await request("POST", f"{flows}/{flow['flow_id']}", json=answer)
    result = await request("POST", f"{flows}/{result['flow_id']}", json={})
    log(f"config flow bank {MIXED_BANK_NAME!r}: {outcome(result, False)}")


# --- end of issue 13's block ---------------------------------------------------------------------


# --- issue 10: control of the GX, the bank's charge limits to it -------------------------------

#: the entity of the Multi's AC input 1 current limit (the --check write) and the values written:
#: one within the limits the GX reports (max 50 A), one beyond them (refused before publishing)
CURRENT_LIMIT_ENTITY = "number.house_inverter_charger_ac_input_1_current_limit"
CONTROL_WRITES = (25.0, 60.0)
CONTROL_DOMAINS = ("number.", "select.", "switch.", "button.", "time.")


async def _options_entry(
    client: HomeAssistantClient, field_name: str, title: str | None = None
) -> str | None:
    """The entry (titled `title`, if given) whose options form has `field_name`: the GX's has
    control, a bank's gx_limits. Each options flow looked at is closed again."""
    for entry in await client.entries():
        if title is not None and entry.get("title") != title:
            continue
        flow = await client._json(
            "POST", "/api/config/config_entries/options/flow", json={"handler": entry["entry_id"]}
        )
        names = [field["name"] for field in flow.get("data_schema", [])]
        await client._json("DELETE", f"/api/config/config_entries/options/flow/{flow['flow_id']}")
        if field_name in names:
            return str(entry["entry_id"])
    return None


async def enable_control(client: HomeAssistantClient) -> None:
    """Turn the GX's Control option on and have the bank send its charge limits to the GX;
    Control on for the fore JBD battery too (its MOSFET switches, issue 11 §4)."""
    gx_entry = await _options_entry(client, "service_types")  # the GX's (JBD entries: control)
    if gx_entry is None:
        raise RuntimeError("no entry has the Control option (the GX)")
    result = await client.options_flow(gx_entry, {"control": True})
    log(f"options flow GX: Control on ({result['type']})")
    bank_entry = await _options_entry(client, "gx_limits", BANK_NAME)
    if bank_entry is not None:
        result = await client.options_flow(bank_entry, {"gx_limits": gx_entry})
        log(f"options flow {BANK_NAME!r}: send charge limits to the GX ({result['type']})")
    jbd_entry = await _options_entry(client, "control", JBD_CONTROL_BATTERY)
    if jbd_entry is None:
        raise RuntimeError(f"no Control option on {JBD_CONTROL_BATTERY!r}")
    result = await client.options_flow(jbd_entry, {"control": True})
    log(f"options flow {JBD_CONTROL_BATTERY!r}: Control on ({result['type']})")
    await enable_vedirect_control(client)  # issue 11


# --- issue 11: VE.Direct HEX (identity, history, control) ----------------------------------------

#: (pty name, SER#) of the VE.Direct devices with Control on: they answer HEX, and --check shows
#: their HEX identity, the MPPT's imported history, and makes one confirmed write on each
VEDIRECT_CONTROL = (("bluesolar_75_15", "HQ1411MYIKN"), ("phoenix_12_1200", "HQ2152UFKWY"))
#: per device (SER#): the control entity's id ends with, the service, the value and the state
VEDIRECT_WRITES = {
    "HQ1411MYIKN": ("switch.", "_load_output", "switch/turn_off", {}, "off"),
    "HQ2152UFKWY": ("select.", "_mode", "select/select_option", {"option": "eco"}, "eco"),
}


async def _vedirect_entries(client: HomeAssistantClient) -> dict[str, dict[str, Any]]:
    """SER# -> the VE.Direct entry of each device of VEDIRECT_CONTROL (its title ends with it)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in await client.entries():
        for _name, serial in VEDIRECT_CONTROL:
            if str(entry.get("title", "")).endswith(serial):
                found[serial] = entry
    return found


async def enable_vedirect_control(client: HomeAssistantClient) -> None:
    """Control on for the simulated MPPT and Phoenix (their options flow)."""
    for entry in (await _vedirect_entries(client)).values():
        result = await client.options_flow(entry["entry_id"], {"control": True})
        log(f"options flow {entry['title']!r}: Control on ({result['type']})")


async def _statistics(client: HomeAssistantClient, statistic_id: str) -> list[dict[str, Any]]:
    """The daily rows of an (external) statistic, over the websocket API of the recorder."""
    async with client.session.ws_connect(client.base + "/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": client.token})
        await ws.receive_json()
        await ws.send_json(
            {
                "id": 1,
                "type": "recorder/statistics_during_period",
                "start_time": datetime.fromtimestamp(time.time() - 40 * 86400, UTC).isoformat(),
                "statistic_ids": [statistic_id],
                "period": "day",
                "types": ["state", "sum"],
            }
        )
        answer = await ws.receive_json()
    return list(answer.get("result", {}).get(statistic_id, []))


async def check_vedirect_control(client: HomeAssistantClient, timeout: float = 120) -> bool:
    """--check (issue 11): for the MPPT and the Phoenix, the HEX identity (diagnostics), the
    MPPT's history imported as statistics (days, kWh) and one confirmed write on each."""
    ok = True
    entries = await _vedirect_entries(client)
    for serial, entry in sorted(entries.items()):
        deadline = time.monotonic() + timeout
        hex_info: dict[str, Any] = {}
        while time.monotonic() < deadline:
            diagnostics = await client._json(
                "GET", f"/api/diagnostics/config_entry/{entry['entry_id']}"
            )
            hex_info = diagnostics.get("data", {}).get("source", {}).get("hex", {})
            if hex_info.get("reads"):
                break
            await asyncio.sleep(1)
        identity = hex_info.get("identity", {})
        print(
            f"\n{entry['title']}: HEX identity: product id {identity.get('product_id')}, "
            f"firmware {identity.get('firmware')}, serial {identity.get('serial_number')}"
        )
        ok &= identity.get("product_id") is not None
        history = hex_info.get("history", {})
        if hex_info.get("family") == "mppt":
            # the diagnostics redact the serial in the id: it is victron_venus:<serial>_solar_yield
            rows = await _statistics(client, f"{DOMAIN}:{serial.lower()}_solar_yield")
            kwh = round(sum(float(row.get("state") or 0) for row in rows), 2)
            print(
                f"  history imported: {len(rows)} days, {kwh:g} kWh "
                f"({history.get('first_day')} .. {history.get('last_day')}; "
                f"{DOMAIN}:{serial.lower()}_solar_yield)"
            )
            ok &= len(rows) == 31
        domain, suffix, service, data, want = VEDIRECT_WRITES[serial]
        entity = next(
            (
                row[1]
                for row in await client.entity_rows()
                if row[1].startswith(domain)
                and row[1].endswith(suffix)
                and row[0]
                and row[0] in entry["title"]
            ),
            None,
        )
        if entity is None:
            print(f"  no {domain}*{suffix} control")
            ok = False
            continue
        try:
            await client._json(
                "POST", f"/api/services/{service}", json={"entity_id": entity, **data}
            )
        except RuntimeError as err:
            print(f"  write {entity} {want}: FAILED: {err}")
            ok = False
            continue
        state = (await client._json("GET", f"/api/states/{entity}"))["state"]
        print(f"  write {entity} {want}: {'confirmed' if state == want else 'NOT'}, state {state}")
        ok &= state == want
    return ok and len(entries) == len(VEDIRECT_CONTROL)


#: the JBD battery with Control on; --check switches its charge MOSFET off and on again
JBD_CONTROL_BATTERY = "JBD battery fore"


async def check_jbd_control(client: HomeAssistantClient, timeout: float = 60) -> bool:
    """--check: the fore JBD battery's charge MOSFET switch off, then on; each write is the
    0xE1 sequence the fake BMS acknowledges, confirmed by its next 0x03. True when both are."""
    deadline = time.monotonic() + timeout
    switch = None
    while switch is None and time.monotonic() < deadline:
        switch = next(
            (
                row[1]
                for row in await client.entity_rows()
                if row[0] == JBD_CONTROL_BATTERY
                and row[1].startswith("switch.")
                and row[1].endswith("_charge_mosfet")
                and row[2] in ("on", "off")
            ),
            None,
        )
        if switch is None:
            await asyncio.sleep(1)
    if switch is None:
        print(f"{JBD_CONTROL_BATTERY}: no charge MOSFET switch within {timeout:g} s")
        return False
    confirmed = 0
    for service, want in (("turn_off", "off"), ("turn_on", "on")):
        try:
            await client._json(
                "POST", f"/api/services/switch/{service}", json={"entity_id": switch}
            )
        except RuntimeError as err:
            print(f"write {switch} {want}: FAILED: {err}")
            continue
        state = (await client._json("GET", f"/api/states/{switch}"))["state"]
        confirmed += state == want
        print(f"write {switch} {want}: {'confirmed' if state == want else 'NOT'}, state {state}")
    return confirmed == 2


async def check_control(client: HomeAssistantClient) -> bool:
    """--check: print the control entities with their states, then one write the GX confirms
    (the Multi's AC input current limit) and one refused as out of range; True when both went
    as they should."""
    rows = [row for row in await client.entity_rows() if row[1].startswith(CONTROL_DOMAINS)]
    print("\ncontrol entities (Control on):")
    for device, entity, state, unit in sorted(rows):
        print(f"  {device:<28} {entity:<62} {state:>12} {unit}")
    good, bad = CONTROL_WRITES
    confirmed = refused = False
    try:
        await client._json(
            "POST",
            "/api/services/number/set_value",
            json={"entity_id": CURRENT_LIMIT_ENTITY, "value": good},
        )
        state = await client._json("GET", f"/api/states/{CURRENT_LIMIT_ENTITY}")
        confirmed = float(state["state"]) == good
        print(f"write {CURRENT_LIMIT_ENTITY} = {good:g} A: confirmed, state {state['state']}")
    except RuntimeError as err:
        print(f"write {CURRENT_LIMIT_ENTITY} = {good:g} A: FAILED: {err}")
    try:
        await client._json(
            "POST",
            "/api/services/number/set_value",
            json={"entity_id": CURRENT_LIMIT_ENTITY, "value": bad},
        )
        print(f"write {CURRENT_LIMIT_ENTITY} = {bad:g} A: NOT refused")
    except RuntimeError as err:
        refused = "HTTP 400" in str(err)
        state = await client._json("GET", f"/api/states/{CURRENT_LIMIT_ENTITY}")
        print(f"write {CURRENT_LIMIT_ENTITY} = {bad:g} A: refused ({err}); state {state['state']}")
    jbd_confirmed = await check_jbd_control(client)  # issue 11 §4
    vedirect_confirmed = await check_vedirect_control(client)  # issue 11 §1-3
    print(flush=True)
    return bool(rows) and confirmed and refused and jbd_confirmed and vedirect_confirmed


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:`port` and it can be bound."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as mosquitto binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def start_gx(root: Path) -> tuple[Broker, GxSimulator, dict[str, str]]:
    """A broker (mosquitto with a password, else amqtt) and the GX simulator on it.

    The broker takes the previous run's port (root/mqtt-port) when it is free, so a GX entry
    saved by that run connects at once; otherwise any free port, and the GX flow moves the entry.
    """
    directory = root / "mqtt"
    directory.mkdir(parents=True, exist_ok=True)
    saved = root / "mqtt-port"
    port = None
    with contextlib.suppress(OSError, ValueError):
        port = int(saved.read_text().strip())
    if port is not None and not port_is_free(port):
        log(f"the previous run's broker port {port} is taken: using another one")
        port = None
    login = GX_LOGIN if find_mosquitto() else {}
    users = {login["username"]: login["password"]} if login else None
    broker = await asyncio.to_thread(start_broker, directory, users=users, port=port)
    saved.write_text(f"{broker.port}\n")
    gx = GxSimulator(broker.host, broker.port, **login)  # type: ignore[arg-type]
    await gx.start()
    return broker, gx, login


async def add_gx(client: HomeAssistantClient, broker: Broker, login: dict[str, str]) -> None:
    """The simulated GX through the Venus GX config flow (plain MQTT 3.1.1).

    On a rerun the flow answers "already configured" and updates the saved entry's host and
    port to this run's broker (the flow's own `_abort_if_unique_id_configured(updates=...)`).
    """
    answer = {"host": broker.host, "port": broker.port, "tls_mode": "off", "protocol": "3.1.1"}
    result = await client.config_flow([{"next_step_id": "venus"}, {**answer, **login}])
    log(f"config flow Venus GX on {broker.host}:{broker.port}: {outcome(result, False)}")


def plaka_fixes() -> list[tuple[float, dict[str, Any]]]:
    """The plaka track as (seconds from its first fix, GX GPS topic suffix -> value); speed in m/s
    (Venus OS publishes SI units), course in degrees."""
    samples = load_nmea(FIXTURES / "gps" / "plaka.nmea")
    first = samples[0].time
    return [
        (
            (sample.time - first).total_seconds(),
            {
                f"{GPS_SERVICE}/Position/Latitude": sample.latitude,
                f"{GPS_SERVICE}/Position/Longitude": sample.longitude,
                f"{GPS_SERVICE}/Speed": round(sample.speed or 0.0, 3),
                f"{GPS_SERVICE}/Course": sample.course,
                f"{GPS_SERVICE}/Fix": 1,
                MOTOR_POWER: demo_motor_power(sample.speed or 0.0),
            },
        )
        for sample in samples
    ]


# --- the demo boat's propulsion power (the logbook's efficiency curve) ---------------------------

#: the GX's electric propulsion power (systemcalc's MotorDrive delegate, logbook.md §2)
MOTOR_POWER = "system/0/MotorDrive/Power"
#: P = a·v³·(1 + (v/v_h)^k) (../shared/reference/logbook.md §4.3, "Simulation model"): a and k
#: fitted to the measured table A (a = 4.61 W/kn³, k = 8.45), the hull-speed knee for a 31 ft
#: waterline (v_h = 1.34·√LWL ≈ 7.5 kn), so plaka's 5.7 kn cruise takes about 0.95 kW
MOTOR_A, MOTOR_K, HULL_SPEED_KN = 4.61, 8.45, 7.5
#: the entity the GX's MotorDrive/Power becomes (the logbook's power)
MOTOR_ENTITY = "sensor.ekrano_gx_motor_drive_power"
#: seconds the Logbook's setup waits for MOTOR_ENTITY once the GPS has a position
POWER_WAIT_S = 60
KNOT = 1852.0 / 3600.0


def demo_motor_power(speed: float) -> float:
    """The demo's propulsion power in W at a speed in m/s (the motor drives all the way)."""
    knots = max(speed, 0.0) / KNOT
    return round(MOTOR_A * knots**3 * (1 + (knots / HULL_SPEED_KN) ** MOTOR_K), 1)


async def sail(
    gx: GxSimulator,
    fixes: list[tuple[float, dict[str, Any]]],
    speed: float = 1.0,
    *,
    repeat: bool = False,
) -> None:
    """Publish the track as the GX's GPS, `speed` times faster than real time; at its end the boat
    stays there, still. With `repeat` it sails back along the same track and out again, forever
    (scripts/soak): a continuous track, no jump."""
    loop = asyncio.get_running_loop()
    legs = 0
    while True:
        start = loop.time()
        for offset, values in fixes:
            delay = start + offset / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            gx.set_values(values)
        legs += 1
        if not repeat:
            break
        end = fixes[-1][0]
        fixes = [(end - offset, values) for offset, values in reversed(fixes)]
    gx.set_value(f"{GPS_SERVICE}/Speed", 0)
    log("the plaka track has ended: the boat lies still")


async def add_logbook(client: HomeAssistantClient, check: bool, timeout: float) -> None:
    """The Logbook on the GX GPS's device tracker and speed, through the Logbook config flow,
    once the tracker has a position (the flow checks it)."""
    deadline = time.monotonic() + timeout
    tracker = speed = None
    rows: list[list[str]] = []
    located = None  # when the tracker first had a position
    while time.monotonic() < deadline:
        rows = await client.entity_rows()
        gps = {row[1]: row[2] for row in rows if row[0] == GPS_DEVICE}
        tracker = next((e for e, s in gps.items() if e.startswith("device_tracker.")), None)
        speed = next((e for e in gps if e.startswith("sensor.") and e.endswith("_speed")), None)
        if tracker and speed and gps[tracker] not in ("unavailable", "unknown"):
            # the GX's entities appear as its topics arrive: the motor's power (the logbook's
            # propulsion power) may come a little after the position; without it the logbook
            # has no propulsion energy and no efficiency curve
            located = located or time.monotonic()
            if any(row[1] == MOTOR_ENTITY for row in rows):
                break
            if time.monotonic() - located >= POWER_WAIT_S:
                log(f"Logbook without propulsion power: no {MOTOR_ENTITY} after {POWER_WAIT_S} s")
                break
        await asyncio.sleep(1)
    else:
        raise TimeoutError(f"the GX GPS has no position after {timeout:.0f} s")
    states = {row[1] for row in rows}
    house = "sensor.house_battery_"
    answer: dict[str, Any] = {
        "name": LOGBOOK_NAME,
        "position": tracker,
        "speed": speed,
        "power_kind": "propulsion",
        **({"power": MOTOR_ENTITY} if MOTOR_ENTITY in states else {}),
        "conditions": [e for e in ("sensor.outside_temperature",) if e in states],
        "export": {
            key: entity
            for key, entity in (
                ("soc", "sensor.house_state_of_charge"),
                ("current", f"{house}current"),
                ("voltage", f"{house}voltage"),
            )
            if entity in states
        },
    }
    result = await client.config_flow([{"next_step_id": "logbook"}, answer])
    log(f"config flow Logbook on {tracker}: {outcome(result, False)}")
    if check and result["type"] == "create_entry":
        options = await client.options_flow(
            result["result"]["entry_id"],
            {"write_interval": 5, "trip_filter": {"min_trip_duration": 1}},
        )
        log(f"options flow Logbook (shortest trip 1 min for the check): {options['type']}")


# --- the boat dashboard (dashboards/boat.yaml) ---------------------------------------------------

DASHBOARD_FILE = REPO / "dashboards" / "boat.yaml"
#: the storage-mode dashboard it becomes: at /boat, in the sidebar
DASHBOARD = {"url_path": "boat", "title": "Boat", "icon": "mdi:sail-boat"}


async def install_dashboard(client: HomeAssistantClient) -> None:
    """dashboards/boat.yaml as the storage-mode dashboard "Boat" (/boat), over the websocket API
    as the frontend's dashboard editor does it: `lovelace/dashboards/create` when it is missing,
    then `lovelace/config/save` with the file's content on every run (a rerun keeps one dashboard,
    showing the repository's file). RuntimeError when Home Assistant refuses a command."""
    import yaml  # Home Assistant's own dependency, only needed here

    config = yaml.safe_load(DASHBOARD_FILE.read_text())
    async with client.session.ws_connect(client.base + "/api/websocket") as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": client.token})
        if (answer := await ws.receive_json())["type"] != "auth_ok":
            raise RuntimeError(f"websocket login refused: {answer}")
        ids = iter(range(1, 100))

        async def call(kind: str, **fields: Any) -> Any:
            number = next(ids)
            await ws.send_json({"id": number, "type": kind, **fields})
            while (message := await ws.receive_json(timeout=60)).get("id") != number:
                pass
            if not message.get("success"):
                raise RuntimeError(f"{kind}: {message.get('error')}")
            return message.get("result")

        dashboards = await call("lovelace/dashboards/list")
        exists = any(d.get("url_path") == DASHBOARD["url_path"] for d in dashboards)
        if not exists:
            await call(
                "lovelace/dashboards/create",
                **DASHBOARD,
                mode="storage",
                show_in_sidebar=True,
                require_admin=False,
                allow_single_word=True,
            )
        await call("lovelace/config/save", url_path=DASHBOARD["url_path"], config=config)
    done = "updated" if exists else "added"
    log(f"dashboard Boat {done} from {DASHBOARD_FILE.name}: /{DASHBOARD['url_path']}")


def logbook_under_way(rows: list[list[str]]) -> bool:
    """True when the logbook's rows show a trip under way with a distance."""
    mine = {row[1].split(".", 1)[1]: row[2] for row in rows if row[0] == LOGBOOK_NAME}
    prefix = LOGBOOK_NAME.lower()
    return (
        mine.get(f"{prefix}_navigation_state") == "under_way"
        and mine.get(f"{prefix}_under_way") == "on"
        and mine.get(f"{prefix}_trip_distance") not in (None, "unknown", "unavailable")
    )


def print_table(rows: list[list[str]]) -> None:
    """Entities grouped by device: entity, state, unit."""
    width = max((len(row[1]) for row in rows), default=10)
    device = None
    for dev, entity, state, unit in sorted(rows):
        if dev != device:
            device = dev
            print(f"\n{dev}")
            print(f"  {'entity':<{width}}  {'state':>22}  unit")
        print(f"  {entity:<{width}}  {state:>22}  {unit}")
    print(flush=True)


async def wait_live(
    client: HomeAssistantClient,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    *,
    need_trip: bool = True,
) -> list[list[str]]:
    """Wait until every device has entities and none of them is unavailable (and, with
    `need_trip`, the logbook has a trip under way). RuntimeError when Home Assistant exits."""
    deadline = time.monotonic() + timeout
    rows: list[list[str]] = []
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"Home Assistant exited with code {process.returncode}")
        rows = await client.entity_rows()
        devices = {row[0] for row in rows}
        dead = [row for row in rows if row[2] == "unavailable"]
        dead += [row for row in rows if row[0] in JBD_DEVICES and row[2] == "unknown"]
        dead += [row for row in rows if row[0] == BLE_BATTERY_NAME and row[2] == "unknown"]
        dead += [
            row
            for row in rows
            if row[0] == MIXED_BANK_NAME and row[1].endswith(MIXED_BANK_LIVE)
            and row[2] == "unknown"
        ]  # fmt: skip
        expected = len(VEDIRECT_CAPTURES) + len(JBD_DEVICES) + len(GX_DEVICES) + 1
        expected += len(BLE_DEVICES)  # issue 13
        if (
            len(devices) >= expected
            and {*GX_DEVICES, *JBD_DEVICES, *BLE_DEVICES} <= devices  # each by name
            and not dead
            and (logbook_under_way(rows) or not need_trip)
        ):
            return rows
        await asyncio.sleep(1)
    missing = sorted({row[1] for row in rows if row[2] in ("unavailable", "unknown")})
    raise TimeoutError(f"entities not live after {timeout:.0f} s: {missing[:20]}")


@dataclass
class Live:
    """A running demo: Home Assistant's process, a logged-in client, the simulated devices."""

    demo: Demo
    client: HomeAssistantClient
    process: subprocess.Popen[bytes]
    log_file: Path
    rows: list[list[str]]
    gx: GxSimulator
    broker: Broker
    replays: list[VEDirectReplay] = field(default_factory=list)
    reused: int = 0


@contextlib.asynccontextmanager
async def running(
    demo: Demo, *, live_timeout: float = 300, need_trip: bool = True
) -> AsyncIterator[Live]:
    """Start the devices and Home Assistant, set every entry up, wait until all are live.

    Yields a `Live`; on exit stops Home Assistant (SIGTERM, then SIGKILL after 60 s) and the
    simulated devices. Raises TimeoutError when something is not up in time, RuntimeError when
    Home Assistant exits or refuses the login.
    """
    write_config(demo)
    write_ble_sim(demo)  # issue 13
    tty = demo.root / "tty"
    devices, replays = start_vedirect(tty, 1.0 / demo.speed)
    jbd_devices, jbd_servers = start_jbd(tty)
    tasks = [asyncio.create_task(replay.run()) for replay in replays] + [
        asyncio.create_task(server) for server in jbd_servers
    ]
    log(f"serving {len(devices)} VE.Direct captures on ptys in {tty}")
    log(f"simulating {len(jbd_devices)} JBD batteries on ptys {[d.link.name for d in jbd_devices]}")
    broker, gx, gx_login = await start_gx(demo.root)
    process: subprocess.Popen[bytes] | None = None
    try:
        kind = "mosquitto" if gx_login else "amqtt (mosquitto is not installed)"
        log(f"simulating GX {gx.portal_id} on {kind} at {broker.host}:{broker.port}")
        fixes = plaka_fixes()
        gx.set_values(fixes[0][1])  # the GPS is on the track from the first full publish
        tasks.append(asyncio.create_task(sail(gx, fixes, demo.speed, repeat=demo.speed != 1.0)))
        hours = fixes[-1][0] / 3600
        pace = "in real time" if demo.speed == 1.0 else f"{demo.speed:g} times real time"
        log(f"the GX GPS sails plaka.nmea {pace} ({len(fixes)} fixes, {hours:.1f} h)")
        log_file = demo.config_dir / "home-assistant.log"
        cmd = [str(REPO / ".venv" / "bin" / "hass"), "-c", str(demo.config_dir), "--skip-pip"]
        cmd += ["--log-file", str(log_file)]
        output = subprocess.DEVNULL if demo.check or demo.quiet else None
        process = subprocess.Popen(cmd, start_new_session=True, stdout=output, stderr=output)
        log(f"starting Home Assistant (pid {process.pid}, log {log_file})")
        async with aiohttp.ClientSession() as session:
            client = HomeAssistantClient(session, demo.base)
            await client.wait_started(300, process)
            await client.onboard_or_login(demo.config_dir, 300)
            await client.wait_running(300)
            reused = len(await client.entries())
            if reused:
                log(
                    f"{demo.config_dir} has {reused} entries from an earlier run: reusing them "
                    "(the GX flow moves its entry to this run's broker; the devices' entries "
                    "keep their ptys)"
                )
            # the GX and the logbook first: the logbook watches the boat sail while the rest is
            # set up (a trip is announced once it has lasted its minimum duration)
            await add_gx(client, broker, gx_login)
            await add_logbook(client, demo.check, 120)
            await add_vedirect(client, devices, reused > 0)
            await add_jbd(client, jbd_devices, reused > 0)
            await add_ble_battery(client)  # issue 13
            await add_mixed_bank(client)  # issue 13
            await enable_control(client)  # issue 10
            await install_dashboard(client)
            rows = await wait_live(client, live_timeout, process, need_trip=need_trip)
            yield Live(demo, client, process, log_file, rows, gx, broker, replays, reused)
    finally:
        log("stopping Home Assistant and the replays")
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 60)
            except subprocess.TimeoutExpired:
                process.kill()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for device in (*devices, *jbd_devices):
            device.unplug()
        await gx.stop()
        await asyncio.to_thread(broker.stop)


async def run(demo: Demo) -> int:
    """Start everything, set the integration up, then check or keep running until Ctrl-C.

    Ctrl-C (or SIGTERM) while setting up stops at once, cleaning up, with exit code 130.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    setting_up = True

    def on_signal() -> None:
        nonlocal setting_up
        stop.set()
        if setting_up and main is not None:
            setting_up = False  # once: a second Ctrl-C must not interrupt the clean-up
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        # the demo is usable once its devices are live; the logbook announces its trip later
        async with running(demo, need_trip=demo.check) as live:
            setting_up = False
            print_table(live.rows)
            if demo.check:
                if not await check_control(live.client):  # issue 10
                    log("FAILED: the control check")
                    return 1
                log(f"check passed: {len(live.rows)} live entities")
                return 0
            log(f"Home Assistant is at http://localhost:{demo.port}  user: demo  password: victron")
            log("Ctrl-C stops Home Assistant and the replays")
            waiter = asyncio.create_task(stop.wait())
            exited = asyncio.create_task(asyncio.to_thread(live.process.wait))
            await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if not stop.is_set():
                log(f"FAILED: Home Assistant exited by itself (code {live.process.returncode})")
                return 1
            return 0
    except asyncio.CancelledError:
        log("stopped while setting up")
        return 130
    except (TimeoutError, RuntimeError, ValueError) as err:
        log(f"FAILED: {err}")
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main() -> int:
    """Parse arguments and run the demo."""
    parser = argparse.ArgumentParser(description="Run Home Assistant with live demo devices.")
    parser.add_argument("--check", action="store_true", help="headless: print live states, exit")
    parser.add_argument("--port", type=int, default=None, help="Home Assistant's port (8123)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=REPO / ".dev",
        help="folder for config/, tty/ and mqtt/ (.dev); a rerun reuses its config",
    )
    args = parser.parse_args()
    if not FIXTURES.exists():
        print(f"develop: {FIXTURES} is missing", file=sys.stderr)
        return 1
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if args.check:
        args.dir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="check-", dir=args.dir))
        demo = Demo(root, args.port or free_port(), "127.0.0.1", check=True)
        try:
            return asyncio.run(run(demo))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    demo = Demo(args.dir.resolve(), args.port or 8123, None, check=False)
    return asyncio.run(run(demo))


if __name__ == "__main__":
    sys.exit(main())

"""scripts/develop as a test sees it: started in a folder, waited for, asked over the websocket.

`DevelopRun` starts `scripts/develop --dir <folder> --port <port>` (the README's main command,
not --check: the demo a new user gets), follows its output in a file, and stops it with Ctrl-C
(SIGINT), as a user would. `HomeAssistantSession` logs in as the demo user through Home
Assistant's own login flow and sends websocket commands, as the frontend does.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import time
from typing import Any

import aiohttp

from tests.shared import REPO

READY = "develop: Home Assistant is at http://localhost:"
USER = {"username": "demo", "password": "victron"}


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DevelopRun:
    """One run of scripts/develop in `root` on `port`; its output goes to `output`."""

    root: Path
    port: int
    output: Path
    process: subprocess.Popen[bytes] | None = None
    #: time.monotonic() when develop said it started Home Assistant (its pid is in the line)
    hass_started: float | None = None

    def start(self) -> DevelopRun:
        """Start develop in its own session (so SIGINT reaches it alone, as Ctrl-C would)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    "bash",
                    str(REPO / "scripts" / "develop"),
                    "--dir",
                    str(self.root),
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        return self

    @property
    def text(self) -> str:
        """Everything develop (and Home Assistant's console) printed so far."""
        return self.output.read_text(errors="replace")

    def lines(self) -> list[str]:
        """develop's own lines ("develop: ...")."""
        return [line for line in self.text.splitlines() if line.startswith("develop: ")]

    def wait_ready(self, timeout: float) -> None:
        """Wait for develop's "Home Assistant is at" line; AssertionError with its output if it
        exits or does not get there in time."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text
            if self.hass_started is None and "develop: starting Home Assistant" in text:
                self.hass_started = time.monotonic()
            if READY in text:
                return
            if self.process.poll() is not None:
                raise AssertionError(
                    f"develop exited with {self.process.returncode}:\n{text[-4000:]}"
                )
            time.sleep(0.5)
        raise AssertionError(f"develop was not ready after {timeout:.0f} s:\n{self.text[-4000:]}")

    def broker_port(self) -> int:
        """The MQTT port of this run's simulated GX (from develop's output)."""
        match = re.search(r"simulating GX \w+ on \w+ at 127\.0\.0\.1:(\d+)", self.text)
        assert match, self.text[-3000:]
        return int(match.group(1))

    def stop(self, timeout: float = 120) -> int:
        """Ctrl-C; develop stops Home Assistant and the devices. Returns develop's exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode


class HomeAssistantSession:
    """The demo user's session: a token from the login flow, then websocket commands."""

    def __init__(self, session: aiohttp.ClientSession, port: int) -> None:
        """Talk to Home Assistant on 127.0.0.1:`port`."""
        self.session = session
        self.base = f"http://127.0.0.1:{port}"
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._id = 0

    async def __aenter__(self) -> HomeAssistantSession:
        """Log in and open the websocket."""
        client_id = self.base + "/"
        async with self.session.post(
            self.base + "/auth/login_flow",
            json={
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": client_id,
            },
        ) as resp:
            flow = await resp.json()
        async with self.session.post(
            self.base + f"/auth/login_flow/{flow['flow_id']}",
            json={"client_id": client_id, **USER},
        ) as resp:
            result = await resp.json()
        assert result["type"] == "create_entry", result
        async with self.session.post(
            self.base + "/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": result["result"],
                "client_id": client_id,
            },
        ) as resp:
            token = (await resp.json())["access_token"]
        self.ws = await self.session.ws_connect(self.base + "/api/websocket")
        assert (await self.ws.receive_json())["type"] == "auth_required"
        await self.ws.send_json({"type": "auth", "access_token": token})
        assert (await self.ws.receive_json())["type"] == "auth_ok"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the websocket."""
        if self.ws is not None:
            await self.ws.close()

    async def command(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send one websocket command; its whole answer (`success`, `result` or `error`)."""
        assert self.ws is not None
        self._id += 1
        await self.ws.send_json({"id": self._id, "type": kind, **fields})
        while True:
            message = await self.ws.receive_json(timeout=120)
            if message.get("id") == self._id:
                return dict(message)


def stored(config_dir: Path, key: str) -> Any:
    """The data of one of Home Assistant's .storage files."""
    return json.loads((config_dir / ".storage" / key).read_text())["data"]

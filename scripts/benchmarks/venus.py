"""Venus GX receive path: messages per second, ours against the victron-mqtt library.

Input: the real boat recording (../shared/fixtures/venus_mqtt, 2,611 topics of one full publish,
portal c0619ab4e25c), pre-encoded as (topic str, payload bytes), replayed 100 times
(261,100 messages). No network on either side.

* victron_venus: ``protocol.venus.parse_message`` + route on the message kind + snapshot update
  (dict of (service_type, instance) -> {path: value}), the work sources/venus.py does per message.
* victron-mqtt (PyPI, what HA core ``victron_gx`` uses): its own paho ``on_message`` handler,
  ``Hub._on_message``, on a hub built with the library's ``victron_mqtt.testing.create_mocked_hub``
  (a MagicMock paho client, never connected); messages are plain objects with ``topic`` and
  ``payload`` like paho's MQTTMessage. Installed only for benchmarking, under .cache/bench-libs.

Both sides are warmed with one replay first (the library creates its devices and metrics at the
first full_publish_completed), so the numbers are the steady state of a running integration.
Run: ``.venv/bin/python -m scripts.benchmarks.venus``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import sys
from typing import Any

from scripts.benchmarks._common import FIXTURES, best_time, comparison_library, table

from custom_components.victron_venus.protocol import venus  # isort: skip

REPLAYS = 100
RECORDING = FIXTURES / "venus_mqtt" / "dump_c0619ab4e25c_boat_12v_gps_tanks.topics.tsv"
LIBRARY = "victron-mqtt"

type Messages = list[tuple[str, bytes]]


def load_messages() -> Messages:
    """The recording as (topic, payload bytes), in arrival order."""
    messages = []
    for line in RECORDING.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            topic, payload = line.split("\t")
            messages.append((topic, payload.encode()))
    return messages


def our_receive_path(
    messages: Messages, *, cold: bool = False
) -> tuple[Callable[[], object], dict[Any, Any]]:
    """parse_message + route + snapshot update over REPLAYS replays; returns (run, snapshot).

    ``cold`` empties parse_message's topic cache before every replay (the worst case: every
    topic is split and checked again).
    """
    cache = venus._TOPIC_CACHE
    parse = venus.parse_message
    value_kind = venus.MessageKind.VALUE
    removed_kind = venus.MessageKind.REMOVED
    snapshot: dict[tuple[str, int | str], dict[str, Any]] = {}
    events: dict[str, Any] = {}

    def run() -> None:
        for _ in range(REPLAYS):
            if cold:
                cache.clear()
            for topic, payload in messages:
                message = parse(topic, payload)
                if message is None:
                    continue
                kind = message.kind
                if kind is value_kind:
                    key = (message.service_type, message.instance)
                    device = snapshot.get(key)
                    if device is None:
                        device = snapshot[key] = {}
                    device[message.path] = message.value
                elif kind is removed_kind:
                    device = snapshot.get((message.service_type, message.instance))
                    if device is not None:
                        device.pop(message.path, None)
                else:  # heartbeat, full_publish_completed, keepalive
                    events[message.path] = message.value

    return run, snapshot


def parse_only(messages: Messages) -> Callable[[], object]:
    """parse_message alone, for reference."""
    parse = venus.parse_message

    def run() -> None:
        for _ in range(REPLAYS):
            for topic, payload in messages:
                parse(topic, payload)

    return run


class _Message:
    """The two attributes of paho's MQTTMessage that victron-mqtt reads."""

    __slots__ = ("payload", "topic")

    def __init__(self, topic: str, payload: bytes) -> None:
        self.topic = topic
        self.payload = payload


async def _library_receive_path(messages: Messages) -> tuple[Callable[[], object], str] | None:
    library = comparison_library(LIBRARY, "victron_mqtt")
    testing = comparison_library(LIBRARY, "victron_mqtt.testing")
    if library is None or testing is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        label = f"victron-mqtt {version('victron-mqtt')}"
    except PackageNotFoundError:
        label = "victron-mqtt"
    logging.getLogger("victron_mqtt").setLevel(logging.CRITICAL)  # its per-replay warnings
    portal = messages[0][0].split("/")[1]
    hub = await testing.create_mocked_hub(installation_id=portal)
    handler = hub._on_message  # the paho on_message callback it registers
    client = hub._client
    prepared = [_Message(topic, payload) for topic, payload in messages]

    def run() -> None:
        for _ in range(REPLAYS):
            for message in prepared:
                handler(client, None, message)

    run()  # warm-up: devices and metrics are created at the first full_publish_completed
    await asyncio.sleep(0)
    metrics = sum(len(device.metrics) for device in hub.devices.values())
    return run, f"{label} ({len(hub.devices)} devices, {metrics} metrics)"


def main() -> None:
    """Print the markdown table."""
    messages = load_messages()
    count = len(messages) * REPLAYS

    ours, snapshot = our_receive_path(messages)
    ours()  # warm-up (fills the topic cache and the snapshot)
    rows: list[tuple[str, float]] = []
    rows.append(("victron_venus parse_message only", best_time(parse_only(messages), 3, 0)))
    cold, _ = our_receive_path(messages, cold=True)
    rows.append(("victron_venus full path, topic cache emptied per replay", best_time(cold, 3, 0)))
    ours_time = best_time(ours, 3, 0)
    rows.append(("**victron_venus parse + route + snapshot**", ours_time))

    async def library() -> tuple[Callable[[], object], str] | None:
        return await _library_receive_path(messages)

    loop = asyncio.new_event_loop()
    try:
        found = loop.run_until_complete(library())
        library_time = None
        if found is not None:
            run, label = found
            library_time = loop.run_until_complete(_time_in_loop(run))
            rows.append((f"{label}: Hub._on_message", library_time))
    finally:
        loop.close()

    def rate(seconds: float) -> str:
        return f"{count / seconds:,.0f}"

    body: list[list[object]] = []
    for name, seconds in rows:
        versus = f"{library_time / seconds:.1f}x" if library_time else "n/a"
        body.append([name, f"{count:,}", f"{seconds * 1000:,.0f} ms", rate(seconds), versus])
    print(
        f"Venus receive path: {len(messages):,} recorded topics x {REPLAYS} replays, "
        f"Python {sys.version.split()[0]}; snapshot {len(snapshot)} devices, "
        f"{sum(len(d) for d in snapshot.values()):,} paths\n"
    )
    print(table(["receive path", "messages", "best time", "messages/s", "vs victron-mqtt"], body))
    if library_time is None:
        print(f"\n({LIBRARY} could not be installed: no comparison)")


async def _time_in_loop(run: Callable[[], object]) -> float:
    """Time inside a running loop: the library schedules callbacks only while one runs."""
    return best_time(run, 3, 0)


if __name__ == "__main__":
    main()

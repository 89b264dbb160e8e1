"""protocol.venus: bounded input and the values that used to escape the parser (issue 8).

* numbers that overflow a double (``1e999``, ``-1e999``, inside lists and objects, and integers
  too large for a double) become None, like the NaN / Infinity literals;
* ``full_publish_completed`` with the echo as its only key (Tomer-w/victron_mqtt's own test
  payload) keeps its echo;
* payloads over ``MAX_PAYLOAD_BYTES`` and topics over ``MAX_TOPIC_LENGTH`` are dropped unread and
  counted; the real boat recording stays far below both caps;
* the topic cache is bounded in bytes, measured with tracemalloc, not only in entries.
"""

from __future__ import annotations

from collections.abc import Iterator
import gc
import json
import tracemalloc
from typing import Any

import pytest

from custom_components.victron_venus.protocol import venus
from custom_components.victron_venus.protocol.venus import (
    MAX_PAYLOAD_BYTES,
    MAX_TOPIC_LENGTH,
    TOPIC_CACHE_MAX_BYTES,
    MessageKind,
    VenusMessage,
    VenusStats,
    parse_message,
    topic_cache_info,
)
from tests.shared import fixture_path

PORTAL = "c0619ab4e25c"
TOPIC = f"N/{PORTAL}/battery/289/Dc/1/Voltage"
TSV = fixture_path("venus_mqtt", "dump_c0619ab4e25c_boat_12v_gps_tanks.topics.tsv")
MiB = 1024 * 1024


def _recording() -> list[tuple[str, bytes]]:
    rows = []
    for line in TSV.read_text(encoding="utf-8").splitlines():
        if line.startswith("N/"):
            topic, _, payload = line.partition("\t")
            rows.append((topic, payload.encode()))
    return rows


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Every test starts and ends with an empty topic cache (it is module state)."""
    venus._TOPIC_CACHE.clear()
    yield
    venus._TOPIC_CACHE.clear()


# --- non-finite numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        (b'{"value":1e999}', None),
        (b'{"value":-1e999}', None),
        (b'{"value":1E400}', None),
        (b'{"value":1.0000000000000e999}', None),  # a long text: the clean_float branch
        (b'{"value":-123456789.123456789e305}', None),
        (b'{"value":[1e999]}', [None]),
        (b'{"value":[1.5,-1e999,2]}', [1.5, None, 2]),
        (b'{"value":{"a":[1,{"b":1e999}],"c":-1e999}}', {"a": [1, {"b": None}], "c": None}),
        (b'{"value":' + str(10**400).encode() + b"}", None),  # an int no double can hold
        (b'{"value":[-' + str(10**309).encode() + b",7]}", [None, 7]),
        # the largest double stays a number (12 significant digits, like any genuine double)
        (b'{"value":1.7976931348623157e308}', 1.79769313486e308),
        (b'{"value":' + str(2**64).encode() + b"}", 2**64),  # a big int that is a double
    ],
)
def test_numbers_that_overflow_a_double_become_none(payload: bytes, value: Any) -> None:
    """1e999 is finite JSON text but inf as a double: it is unknown (None), never inf."""
    stats = VenusStats()
    message = parse_message(TOPIC, payload, stats)
    assert message == VenusMessage(PORTAL, "battery", 289, "Dc/1/Voltage", value)
    assert stats == VenusStats(messages=1)


def test_overflowing_min_max_of_a_setting_become_none() -> None:
    topic = f"N/{PORTAL}/settings/0/Settings/SystemSetup/MaxChargeVoltage"
    message = parse_message(topic, b'{"max":1e999,"min":-1e999,"value":14.4}')
    assert message is not None
    assert (message.value, message.min_value, message.max_value) == (14.4, None, None)


# --- full_publish_completed ---------------------------------------------------------------------


def test_full_publish_completed_with_only_the_echo_key() -> None:
    """Tomer-w/victron_mqtt's test payload: the echo is the only key (no "value")."""
    stats = VenusStats()
    message = parse_message(
        "N/123/full_publish_completed", b'{"full-publish-completed-echo": "echo123"}', stats
    )
    assert message == VenusMessage(
        "123", "", 0, "full_publish_completed", None, MessageKind.FULL_PUBLISH_COMPLETED,
        echo="echo123",
    )  # fmt: skip
    assert stats == VenusStats(messages=1)


def test_the_one_key_fast_path_still_reads_value() -> None:
    for topic in (TOPIC, f"N/{PORTAL}/heartbeat", f"N/{PORTAL}/full_publish_completed"):
        message = parse_message(topic, b'{"value": 12.5}')
        assert message is not None
        assert (message.value, message.echo, message.min_value, message.max_value) == (
            12.5,
            None,
            None,
            None,
        )


# --- payload and topic size ----------------------------------------------------------------------


def _value_payload(size: int) -> bytes:
    """``{"value":"xxx..."}`` of exactly `size` bytes."""
    payload = b'{"value":"' + b"x" * (size - 12) + b'"}'
    assert len(payload) == size
    return payload


def test_the_recording_is_far_below_the_caps() -> None:
    """The caps leave room: the largest real payload (platform CanBus statistics, 1,703 bytes) is
    a fifth of MAX_PAYLOAD_BYTES; the longest real topic (110 characters) a ninth of
    MAX_TOPIC_LENGTH."""
    rows = _recording()
    largest = max(rows, key=lambda row: len(row[1]))
    assert (largest[0], len(largest[1])) == (
        f"N/{PORTAL}/platform/0/CanBus/Interface/vecan0/Statistics",
        1703,
    )
    assert max(len(topic) for topic, _ in rows) == 110
    assert (MAX_PAYLOAD_BYTES, MAX_TOPIC_LENGTH) == (8192, 1024)
    stats = VenusStats()
    for topic, payload in rows:
        parse_message(topic, payload, stats)
    assert stats == VenusStats(messages=2611)


def test_oversized_payload_is_dropped_unread_and_counted() -> None:
    stats = VenusStats()
    at_cap = parse_message(TOPIC, _value_payload(MAX_PAYLOAD_BYTES), stats)
    assert at_cap is not None
    assert at_cap.value == "x" * (MAX_PAYLOAD_BYTES - 12)
    assert parse_message(TOPIC, _value_payload(MAX_PAYLOAD_BYTES + 1), stats) is None
    assert parse_message(TOPIC, _value_payload(60_000), stats) is None
    # oversized is a part of bad_json: each call still increments exactly one outcome counter
    assert stats == VenusStats(messages=1, bad_json=2, oversized=2)
    assert stats.errors == 2


def test_oversized_topic_is_a_bad_topic_and_never_cached() -> None:
    stats = VenusStats()
    prefix = f"N/{PORTAL}/battery/289/"
    at_cap = prefix + "x" * (MAX_TOPIC_LENGTH - len(prefix))
    over = at_cap + "x"
    assert parse_message(at_cap, b'{"value":1}', stats) is not None
    assert parse_message(over, b'{"value":1}', stats) is None
    assert stats == VenusStats(messages=1, bad_topic=1, oversized=1)
    assert over not in venus._TOPIC_CACHE
    assert topic_cache_info()[0] == 1


# --- the topic cache, in bytes ------------------------------------------------------------------


def _traced_growth(messages: Iterator[tuple[str, bytes]]) -> int:
    """Bytes still allocated after parsing `messages` (the cache is what keeps them)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for topic, payload in messages:
            parse_message(topic, payload)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_topics_of_60_kb_do_not_fill_memory() -> None:
    """The report: 3,000 topics of 60 KB took 344 MiB. Now they are refused (too long)."""
    grown = _traced_growth(
        (f"N/{PORTAL}/battery/{i}/" + "x" * 60_000, b'{"value":1}') for i in range(3000)
    )
    assert topic_cache_info() == (0, 0)
    assert grown < 1 * MiB


def test_topic_cache_is_bounded_in_bytes() -> None:
    """20,000 distinct topics just under the length cap (about 44 MiB of cache entries before)
    keep the cache within TOPIC_CACHE_MAX_BYTES, whatever the count cap allows."""
    prefix = f"N/{PORTAL}/battery/"
    filler = "x" * (MAX_TOPIC_LENGTH - len(prefix) - 12)
    # instances 10000-29999: topics of one length (1,018 characters), entries of one size
    topics = [f"{prefix}{i}/{filler}" for i in range(10_000, 30_000)]
    parse_message(topics[0], b'{"value":1}')
    _, entry_bytes = topic_cache_info()
    grown = _traced_growth((topic, b'{"value":1}') for topic in topics[1:])
    # the cache starts afresh when the next entry would pass the byte bound: it holds
    # `capacity` entries at most, and the entries since its last fresh start
    capacity = TOPIC_CACHE_MAX_BYTES // entry_bytes
    left = (len(topics) - 1) % capacity + 1
    assert topic_cache_info() == (left, left * entry_bytes)
    assert (TOPIC_CACHE_MAX_BYTES, entry_bytes, capacity, left) == (16 * MiB, 2356, 7121, 5758)
    # real memory (tracemalloc) is the allocator's, not an exact figure: a bound on it
    assert grown <= TOPIC_CACHE_MAX_BYTES + 1 * MiB  # the estimate holds against real memory


def test_topic_cache_estimate_matches_real_topics() -> None:
    """On the real recording the cache's own estimate is within 25 % of what tracemalloc sees
    (topics decoded afresh per message, as paho hands them over: the cache keeps the first)."""
    rows = [(topic.encode(), payload) for topic, payload in _recording()]
    grown = _traced_growth((topic.decode(), payload) for topic, payload in rows)
    entries, size = topic_cache_info()
    assert entries == 2611
    assert 0.75 * grown <= size <= 1.25 * grown


def test_cache_keeps_working_after_it_was_emptied() -> None:
    prefix = f"N/{PORTAL}/battery/"
    filler = "x" * (MAX_TOPIC_LENGTH - len(prefix) - 12)
    for i in range(10_000):
        parse_message(f"{prefix}{i}/{filler}", b'{"value":1}')
    message = parse_message(TOPIC, json.dumps({"value": 13.7}).encode())
    assert message == VenusMessage(PORTAL, "battery", 289, "Dc/1/Voltage", 13.7)
    assert TOPIC in venus._TOPIC_CACHE

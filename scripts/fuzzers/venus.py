"""Fuzz the Venus MQTT message parser (protocol/venus.py ``parse_message``).

Checks:

* ``parse_message``: random topics (any text, ``N/`` topics of random segments, the real
  recording's topics, the special keepalive / heartbeat / full_publish_completed topics) and
  payloads (random bytes, JSON of any shape, numbers beyond a double, huge integers, deep
  nesting, the recording's payloads). Invariants: nothing raises; exactly one outcome counter is
  incremented; a message comes back exactly when ``messages`` or ``removed`` was counted; no
  value, min or max holds a non-finite float at any depth; for a JSON object the echo is its
  ``full-publish-completed-echo`` string (else None), and a value without floats is the JSON's
  own, as decoded here with the standard library.
* ``noise``: ``--noise-mb`` MB of messages with ever new topics (some of MQTT's maximum length)
  and random payloads: the module's topic cache stays within its entry and byte bounds (measured
  here from outside) and the process RSS does not grow past them.
* ``linear``: streams of worst-case messages (deep nesting, long numbers, huge integers, escape
  storms, oversized payloads, ever new long topics) at 1 MB and 8 MB.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

from hypothesis import example, given, strategies as st

from custom_components.victron_venus.protocol import venus
from custom_components.victron_venus.protocol.venus import VenusStats, parse_message
from scripts.fuzzers._common import (
    MB,
    Check,
    Counter,
    Options,
    linear_check,
    retained,
    rss_bytes,
    run_property,
)
from tests.shared import fixture_path

ECHO_KEY = "full-publish-completed-echo"
OUTCOMES = ("messages", "removed", "not_notification", "bad_topic", "bad_json", "no_value")
CACHE_TEXT_LIMIT = getattr(venus, "TOPIC_CACHE_MAX_BYTES", 16 * 2**20) * 3 // 4
"""Topic text the cache may hold. The module bounds its estimate of the cache's memory (two
copies of each topic plus a fixed overhead per entry), so the text itself stays under half the
bound; three quarters leaves room for the estimate's error. The noise below carries about 25 MB
of MQTT's longest topics: a cache bounded by count only takes them all."""
RSS_GROWTH_LIMIT = 96 * 2**20


def _recording() -> list[tuple[str, bytes]]:
    path = fixture_path("venus_mqtt", "dump_c0619ab4e25c_boat_12v_gps_tanks.topics.tsv")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            topic, payload = line.split("\t")
            rows.append((topic, payload.encode()))
    return rows


RECORDING = _recording()
SEGMENT = st.text(max_size=12)
TOPICS = st.one_of(
    st.text(max_size=80),
    st.lists(SEGMENT, min_size=1, max_size=8).map("/".join),
    st.lists(SEGMENT, min_size=1, max_size=6).map(lambda parts: "N/" + "/".join(parts)),
    st.sampled_from([t for t, _ in RECORDING]),
    st.sampled_from(["keepalive", "heartbeat", "full_publish_completed"]).map(
        lambda name: f"N/c0619ab4e25c/{name}"
    ),
)
NUMBERS = st.sampled_from(
    [b"1e999", b"-1e999", b"1E400", b"9" * 400, b"-" + b"9" * 320, b"1e-999", b"0.1" + b"0" * 30]
)
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
PAYLOADS = st.one_of(
    st.binary(max_size=160),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    JSON_VALUES.map(lambda v: json.dumps({"value": v}).encode()),
    st.tuples(JSON_VALUES, JSON_VALUES, st.text(max_size=10)).map(
        lambda t: json.dumps({"value": t[0], "max": t[1], ECHO_KEY: t[2]}).encode()
    ),
    st.text(max_size=10).map(lambda e: json.dumps({ECHO_KEY: e}).encode()),
    NUMBERS.map(lambda n: b'{"value":' + n + b"}"),
    NUMBERS.map(lambda n: b'{"value":[' + n + b"," + n + b"]}"),
    NUMBERS.map(lambda n: b'{"value":{"a":[' + n + b']},"min":' + n + b"}"),
    st.integers(1, 5000).map(lambda d: b"[" * d + b"]" * d),
    st.sampled_from([p for _, p in RECORDING]),
)


def _non_finite(value: Any) -> bool:
    """True if a float that is NaN or infinite hides anywhere in ``value`` (iteratively)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            return True
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def _has_huge_int(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is int:
            try:
                float(item)
            except OverflowError:
                return True
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def _independent(payload: bytes) -> Any:
    """The payload as the standard library reads it (NaN/Infinity as None), or a marker."""
    try:
        return json.loads(payload.decode(), parse_constant=lambda _: None)
    except ValueError, RecursionError:
        return _INVALID


_INVALID = object()


def _check_parse() -> Check:
    counter = Counter()

    @given(topic=TOPICS, payload=PAYLOADS)
    # found by fuzzing (issue 8 §2): doubles beyond range came out as inf
    @example(topic="N/c0619ab4e25c/battery/275/Dc/0/Voltage", payload=b'{"value":1e999}')
    @example(topic="N/c0619ab4e25c/battery/275/Dc/0/Voltage", payload=b'{"value":-1e999}')
    @example(topic="N/c0619ab4e25c/battery/275/Dc/0/Voltage", payload=b'{"value":[1e999]}')
    # Tomer-w/victron_mqtt's own test payload: the echo was lost on a one-key object
    @example(
        topic="N/123/full_publish_completed", payload=b'{"full-publish-completed-echo": "echo123"}'
    )
    def parse(topic: str, payload: bytes) -> None:
        stats = VenusStats()
        message = parse_message(topic, payload, stats)
        counts = [getattr(stats, name) for name in OUTCOMES]
        assert sum(counts) == 1, stats
        assert (message is None) == (stats.messages + stats.removed == 0), (message, stats)
        if message is not None:
            for part in (message.value, message.min_value, message.max_value):
                assert not _non_finite(part), message
            data = _independent(payload) if payload else _INVALID
            if isinstance(data, dict):
                echo = data.get(ECHO_KEY)
                assert message.echo == (echo if isinstance(echo, str) else None), message
                if "value" in data and not _has_float(data) and not _has_huge_int(data):
                    assert message.value == data["value"], (message.value, data["value"])
        counter.tick()

    return Check("parse_message", lambda o: run_property(parse, counter, o, 21))


def _cache_state() -> tuple[int, int]:
    """(entries, topic text in bytes) of the module's topic cache, measured here."""
    cache = venus._TOPIC_CACHE  # measuring the cache from outside
    text, _ = retained(list(cache.keys()))
    return len(cache), text


def _noise_messages(rng: random.Random, count: int) -> list[tuple[str, bytes]]:
    """Mostly ever new topics (a tenth near the longest accepted, a few of MQTT's maximum) and
    payloads of every size, so both the count and the size bound of the cache are reached."""
    longest = getattr(venus, "MAX_TOPIC_LENGTH", 1024)
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.005:  # MQTT's longest topics, well formed
            topic = f"N/{rng.getrandbits(48):012x}/t/{rng.randrange(10**6)}/"
            topic += rng.randbytes(32_750).hex()[: 65_535 - len(topic)]
        elif roll < 0.1:  # as long as a topic may be and still be read
            topic = f"N/{rng.getrandbits(48):012x}/t/{rng.randrange(10**6)}/"
            topic += "P" * (longest - len(topic) - rng.randrange(3))
        elif roll < 0.7:
            topic = f"N/{rng.getrandbits(48):012x}/t{rng.randrange(99)}/{rng.randrange(10**6)}/P"
        else:
            topic = rng.choice(RECORDING)[0] if rng.random() < 0.5 else rng.randbytes(40).hex()
        roll = rng.random()
        if roll < 0.005:
            payload = rng.randbytes(rng.randint(9_000, 70_000))
        elif roll < 0.5:
            payload = rng.choice(RECORDING)[1]
        else:
            payload = b'{"value":' + str(rng.random()).encode() + b"}"
        out.append((topic, payload))
    return out


def _check_noise() -> Check:
    def noise(options: Options) -> tuple[int, str]:
        rng = random.Random(options.seed + 20)
        venus._TOPIC_CACHE.clear()  # start from an empty cache
        total = 0
        peak_entries = peak_text = 0
        rss0 = rss_peak = rss_bytes()
        stats = VenusStats()
        limit = getattr(venus, "_TOPIC_CACHE_MAX", 50_000)
        while total < options.noise_mb * MB:
            batch = _noise_messages(rng, 200)
            for topic, payload in batch:
                parse_message(topic, payload, stats)
                total += len(topic) + len(payload)
            entries, text = _cache_state()
            peak_entries = max(peak_entries, entries)
            peak_text = max(peak_text, text)
            assert entries <= limit, f"{entries} topics cached"
            assert text < CACHE_TEXT_LIMIT, f"the topic cache holds {text / 2**20:.1f} MiB"
            rss_peak = max(rss_peak, rss_bytes())
        growth = rss_peak - rss0
        venus._TOPIC_CACHE.clear()
        assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.1f} MiB"
        note = (
            f"{total / MB:.0f} MB, {stats.messages} messages, {stats.bad_json} bad JSON,"
            f" {stats.bad_topic} bad topics; peak cache {peak_entries} topics"
            f" {peak_text / 2**20:.1f} MiB; RSS +{growth / 2**20:.1f} MiB"
        )
        return total // MB, note

    return Check("noise", noise)


def _stream(message: tuple[str, bytes] | None, size: int, fresh_topics: bool = False) -> Any:
    """Messages of about ``size`` bytes in all: one message repeated, or ever new long topics."""
    if fresh_topics:  # as long as a topic may be and still be read: each one parsed and cached
        longest = getattr(venus, "MAX_TOPIC_LENGTH", 1024)
        messages = []
        total = 0
        n = 0
        while total < size:
            topic = f"N/c0619ab4e25c/battery/{n}/"
            topic += "p" * (longest - len(topic))
            messages.append((topic, b'{"value":1}'))
            total += len(topic) + 11
            n += 1
    else:
        assert message is not None
        messages = [message] * (size // (len(message[0]) + len(message[1])) + 1)

    def run() -> None:
        venus._TOPIC_CACHE.clear()  # each round starts alike
        for topic, payload in messages:
            parse_message(topic, payload)

    return run


def _pathological() -> list[tuple[str, tuple[str, bytes] | None, bool]]:
    topic = "N/c0619ab4e25c/battery/275/Dc/0/Voltage"
    huge = b"9" * 320
    return [
        ("deep nesting", (topic, b"[" * 8000), False),
        ("nested, closed", (topic, b"[" * 4000 + b"]" * 4000), False),
        ("huge ints", (topic, b'{"value":[' + b",".join([huge] * 24) + b"]}"), False),
        ("4300-digit int", (topic, b'{"value":' + b"9" * 4300 + b"}"), False),
        ("long float", (topic, b'{"value":0.' + b"1" * 8000 + b"}"), False),
        ("1e999 array", (topic, b'{"value":[' + b",".join([b"1e999"] * 1300) + b"]}"), False),
        ("escapes", (topic, b'{"value":"' + b"\\u00e9" * 1300 + b'"}'), False),
        ("oversized", (topic, b" " * 70_000), False),
        ("new long topics", None, True),
    ]


def _check_linear() -> Check:
    cases = [
        (name, lambda size, m=message, f=fresh: _stream(m, size, f))
        for name, message, fresh in _pathological()
    ]
    return Check("linear", lambda o: linear_check(cases))


def checks(options: Options) -> list[Check]:
    """Every Venus check, in order."""
    del options
    return [_check_parse(), _check_noise(), _check_linear()]

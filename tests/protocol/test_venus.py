"""protocol.venus on the real boat GX recording (portal c0619ab4e25c) and on edge cases.

Expectations are derived here from the raw topic text and the original JSONL log, independently
of the parser (protocols.md §3.2-§3.5, fixtures/SOURCES.md).
"""

from __future__ import annotations

from collections import Counter
import json
import math
import re
import struct
from typing import Any

from hypothesis import example, given, settings, strategies as st
import pytest

from custom_components.victron_venus.protocol import venus
from custom_components.victron_venus.protocol.venus import (
    MessageKind,
    VenusMessage,
    VenusParser,
    VenusStats,
    clean_float,
    keepalive_payload,
    keepalive_topic,
    notification_filter,
    notification_topic,
    parse_message,
    read_topic,
    write_payload,
    write_topic,
)
from tests.shared import fixture_path

PORTAL = "c0619ab4e25c"
TSV = fixture_path("venus_mqtt", "dump_c0619ab4e25c_boat_12v_gps_tanks.topics.tsv")
JSONL = fixture_path("venus_mqtt", "signalk-venus-plugin_vrm-test.log.jsonl")
RAW_TOPIC = re.compile(r"^N/(?P<portal>[0-9a-f]{12})/(?P<type>[A-Za-z]+)/(?P<inst>[^/]+)/.+$")


def _recording() -> list[tuple[str, bytes]]:
    rows = []
    for line in TSV.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        topic, payload = line.split("\t")
        rows.append((topic, payload.encode()))
    return rows


RECORDING = _recording()


def _jsonl() -> list[dict[str, Any]]:
    return [json.loads(line)["message"] for line in JSONL.read_text(encoding="utf-8").splitlines()]


def _is_float32(x: float) -> bool:
    (rounded,) = struct.unpack("<f", struct.pack("<f", x))
    return bool(rounded == x)


# --- the real recording ---------------------------------------------------------------------------


def test_recording_size() -> None:
    assert len(RECORDING) == 2611
    assert len({topic for topic, _ in RECORDING}) == 2611  # one full publish: no repeats


def test_every_line_parses() -> None:
    stats = VenusStats()
    messages = [parse_message(topic, payload, stats) for topic, payload in RECORDING]
    assert all(m is not None for m in messages)
    assert stats == VenusStats(messages=2611)
    assert {m.portal_id for m in messages if m} == {PORTAL}


def test_service_type_counts_match_raw_topics() -> None:
    expected: Counter[str] = Counter()
    expected_devices: Counter[tuple[str, str]] = Counter()
    for topic, _ in RECORDING:
        match = RAW_TOPIC.match(topic)
        if match:
            expected[match["type"]] += 1
            expected_devices[(match["type"], match["inst"])] += 1
    got: Counter[str] = Counter()
    got_devices: Counter[tuple[str, str]] = Counter()
    for topic, payload in RECORDING:
        message = parse_message(topic, payload)
        assert message is not None
        if message.kind is MessageKind.VALUE:
            got[message.service_type] += 1
            got_devices[(message.service_type, str(message.instance))] += 1
    assert got == expected
    assert got_devices == expected_devices
    # the headline numbers, checked by hand against the file
    assert expected["settings"] == 881
    assert expected["solarcharger"] == 524
    assert expected["vebus"] == 287
    assert expected["battery"] == 134
    assert expected["tank"] == 87
    assert expected["gps"] == 20
    assert sum(expected.values()) == 2609  # + full_publish_completed + heartbeat


def test_paths_and_instances_match_jsonl() -> None:
    """The original log's D-Bus path and sender name agree with our path and instance."""
    log = _jsonl()
    assert [m["topic"] for m in log] == [topic for topic, _ in RECORDING]
    checked = 0
    for entry, (topic, payload) in zip(log, RECORDING, strict=True):
        message = parse_message(topic, payload)
        assert message is not None
        if message.kind is not MessageKind.VALUE:
            continue
        assert "/" + message.path == entry["path"]
        # signalk-venus-plugin rebuilt the sender as com.victronenergy.<type>.<instance>
        # (its instanceName is a user alias: battery 275 is "house").
        assert entry["senderName"] == (
            f"com.victronenergy.{message.service_type}.{message.instance}"
        )
        checked += 1
    assert checked == 2609


def _same_json(value: Any, raw: Any) -> bool:
    """Same structure and keys, equal leaves; floats equal within float32 cleaning (5e-7)."""
    if isinstance(raw, float):
        return isinstance(value, float) and math.isclose(value, raw, rel_tol=5e-7)
    if isinstance(raw, list):
        return (
            isinstance(value, list)
            and len(value) == len(raw)
            and all(_same_json(v, r) for v, r in zip(value, raw, strict=True))
        )
    if isinstance(raw, dict):
        return (
            isinstance(value, dict)
            and value.keys() == raw.keys()
            and all(_same_json(value[k], raw[k]) for k in raw)
        )
    return type(value) is type(raw) and value == raw


def test_values_match_jsonl_after_cleaning() -> None:
    float32_values = 0
    containers = 0
    for entry, (topic, payload) in zip(_jsonl(), RECORDING, strict=True):
        message = parse_message(topic, payload)
        assert message is not None
        raw = entry["value"]
        if isinstance(raw, float):
            assert isinstance(message.value, float)
            assert math.isclose(message.value, raw, rel_tol=5e-7), topic
            assert float(format(message.value, ".12g")) == message.value  # <= 12 digits
            if _is_float32(raw):  # the float32 the GX had is kept, in <= 9 digits
                assert struct.pack("<f", message.value) == struct.pack("<f", raw)
                assert float(format(message.value, ".9g")) == message.value
                float32_values += 1
        elif isinstance(raw, (list, dict)):
            containers += 1
            assert _same_json(message.value, raw), topic  # nested floats cleaned, rest as is
        else:
            assert message.value == raw, topic
            assert type(message.value) is type(raw), topic
    # counted in the JSONL with the standard library: 247 values are exactly a float32, and 5
    # are lists or objects (CanBus/Interfaces, Devices/0/Assistants, Batteries, two service maps)
    assert float32_values == 247
    assert containers == 5


def test_nulls_are_none() -> None:
    null_topics = {t for t, p in RECORDING if p == b'{"value":null}'}
    assert len(null_topics) == 275
    for topic, payload in RECORDING:
        message = parse_message(topic, payload)
        assert message is not None
        assert (message.value is None) == (topic in null_topics), topic


def test_known_values() -> None:
    by_topic = {t: parse_message(t, p) for t, p in RECORDING}

    def value(suffix: str) -> Any:
        message = by_topic[f"N/{PORTAL}/{suffix}"]
        assert message is not None
        return message.value

    assert value("system/0/Serial") == PORTAL
    assert value("battery/289/Dc/0/Voltage") == 13.34  # 13.34000015258789 on the wire
    assert value("battery/289/History/TotalAhDrawn") == -80.1  # -80.0999984741211
    assert value("battery/289/History/MaximumVoltage") == 14.85
    assert value("temperature/103/Temperature") == 6.225  # a double: 6.225000000000023
    assert value("temperature/100/Temperature") == 34.745  # 34.745000000000005
    assert value("tank/20/Level") == 51
    assert value("settings/0/Settings/Ble/Service/Pincode") == "******"
    batteries = value("system/0/Batteries")
    assert isinstance(batteries, list)
    house = batteries[0]
    assert house["id"] == "com.victronenergy.battery.ttyUSB0"
    assert house["instance"] == 275
    assert house["current"] == -4.7  # nested floats are cleaned too
    assert house["voltage"] == 13.71
    assert [b["instance"] for b in batteries] == [275, 289]  # the house bank and the starter


def test_gps_keeps_float32_precision() -> None:
    for topic, payload in RECORDING:
        if "/gps/93/Position/" in topic:
            raw = json.loads(payload)["value"]
            message = parse_message(topic, payload)
            assert message is not None
            assert struct.pack("<f", message.value) == struct.pack("<f", raw)
            assert abs(message.value - raw) < 1e-5


def test_vecan_instance_is_text() -> None:
    vecan = [parse_message(t, p) for t, p in RECORDING if t.startswith(f"N/{PORTAL}/vecan/")]
    assert len(vecan) == 138
    assert {m.instance for m in vecan if m} == {"vecan0"}
    assert {m.key for m in vecan if m} == {("vecan", "vecan0")}


def test_special_topics_in_recording() -> None:
    specials = {
        t: parse_message(t, p) for t, p in RECORDING if t.count("/") == 2 and t.startswith("N/")
    }
    completed = specials[f"N/{PORTAL}/full_publish_completed"]
    heartbeat = specials[f"N/{PORTAL}/heartbeat"]
    assert completed is not None
    assert heartbeat is not None
    assert completed.kind is MessageKind.FULL_PUBLISH_COMPLETED
    assert completed.value == 1752842421
    assert completed.echo is None  # the recorded GX predates the echo (or the log dropped it)
    assert heartbeat.kind is MessageKind.HEARTBEAT
    assert heartbeat.value == 1752842422
    assert completed.service_type == heartbeat.service_type == ""


def test_recording_has_values_after_full_publish_completed() -> None:
    """Surprise in the recording: 33 live changes arrive after full_publish_completed."""
    topics = [t for t, _ in RECORDING]
    index = topics.index(f"N/{PORTAL}/full_publish_completed")
    assert len(topics) - index - 1 == 33
    assert f"N/{PORTAL}/heartbeat" in topics[index:]


# --- edge cases -----------------------------------------------------------------------------------


def test_empty_payload_means_removed() -> None:
    stats = VenusStats()
    message = parse_message(f"N/{PORTAL}/tank/20/Level", b"", stats)
    assert message == VenusMessage(PORTAL, "tank", 20, "Level", None, MessageKind.REMOVED)
    assert message.removed
    assert stats == VenusStats(removed=1)
    ok = parse_message(f"N/{PORTAL}/tank/20/Level", b'{"value":null}')
    assert ok is not None
    assert not ok.removed


def test_settings_min_max() -> None:
    topic = f"N/{PORTAL}/settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit"
    message = parse_message(topic, b'{"max":100,"min":0.10000000149011612,"value":10}')
    assert message is not None
    assert message.value == 10
    assert message.min_value == 0.1
    assert message.max_value == 100
    plain = parse_message(topic, b'{"value":10}')
    assert plain is not None
    assert plain.min_value is None
    assert plain.max_value is None


def test_full_publish_completed_echo() -> None:
    message = parse_message(
        f"N/{PORTAL}/full_publish_completed",
        b'{"full-publish-completed-echo":"ha-3f2a-7","value":1752842421}',
    )
    assert message is not None
    assert message.kind is MessageKind.FULL_PUBLISH_COMPLETED
    assert message.echo == "ha-3f2a-7"
    assert message.value == 1752842421
    odd = parse_message(
        f"N/{PORTAL}/full_publish_completed", b'{"full-publish-completed-echo":5,"value":1}'
    )
    assert odd is not None
    assert odd.echo is None


def test_keepalive_notification_is_bare_json() -> None:
    message = parse_message(f"N/{PORTAL}/keepalive", b"1")
    assert message is not None
    assert message.kind is MessageKind.KEEPALIVE
    assert message.value == 1


@pytest.mark.parametrize(
    ("topic", "payload", "counter"),
    [
        ("R/c0619ab4e25c/keepalive", b"", "not_notification"),
        ("W/c0619ab4e25c/vebus/274/Mode", b'{"value":3}', "not_notification"),
        ("homeassistant/status", b"online", "not_notification"),
        ("", b"", "not_notification"),
        ("N/", b'{"value":1}', "bad_topic"),
        ("N/c0619ab4e25c", b'{"value":1}', "bad_topic"),
        ("N/c0619ab4e25c/system/0", b'{"value":1}', "bad_topic"),
        ("N/c0619ab4e25c/system/0/", b'{"value":1}', "bad_topic"),
        ("N//system/0/Serial", b'{"value":1}', "bad_topic"),
        ("N/c0619ab4e25c//0/Serial", b'{"value":1}', "bad_topic"),
        ("N/c0619ab4e25c/system//Serial", b'{"value":1}', "bad_topic"),
        ("N/+/system/0/Serial", b'{"value":1}', "bad_topic"),
        ("N/c0619ab4e25c/#", b'{"value":1}', "bad_topic"),
        ("N/c0619ab4e25c/unknown_special", b'{"value":1}', "bad_topic"),
        ("N/c0619ab4e25c/battery/275/Soc", b"not json", "bad_json"),
        ("N/c0619ab4e25c/battery/275/Soc", b'{"value":1', "bad_json"),
        ("N/c0619ab4e25c/battery/275/Soc", b'{"value":1} x', "bad_json"),
        ("N/c0619ab4e25c/battery/275/Soc", b"\xff\xfe\x00", "bad_json"),
        ("N/c0619ab4e25c/battery/275/Soc", b"[" * 100_000, "bad_json"),
        ("N/c0619ab4e25c/heartbeat", b"{", "bad_json"),
        ("N/c0619ab4e25c/battery/275/Soc", b"{}", "no_value"),
        ("N/c0619ab4e25c/battery/275/Soc", b'{"val":1}', "no_value"),
        ("N/c0619ab4e25c/battery/275/Soc", b"1", "no_value"),
        ("N/c0619ab4e25c/battery/275/Soc", b"null", "no_value"),
        ("N/c0619ab4e25c/battery/275/Soc", b'"x"', "no_value"),
        ("N/c0619ab4e25c/battery/275/Soc", b"[1]", "no_value"),
    ],
)
def test_bad_input_is_counted_not_raised(topic: str, payload: bytes, counter: str) -> None:
    stats = VenusStats()
    assert parse_message(topic, payload, stats) is None
    assert getattr(stats, counter) == 1
    assert stats.messages + stats.removed == 0
    assert (
        stats.bad_topic + stats.bad_json + stats.no_value + stats.not_notification + stats.removed
        == 1
    )


def test_json_whitespace_and_constants() -> None:
    topic = f"N/{PORTAL}/battery/275/Soc"
    spaced = parse_message(topic, b' \n{"value": 99.5}\r\n')
    assert spaced is not None
    assert spaced.value == 99.5
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        message = parse_message(topic, b'{"value":' + constant + b"}")
        assert message is not None
        assert message.value is None


def test_parser_object_counts_and_learns_portal() -> None:
    parser = VenusParser()
    assert parser.feed("R/x/keepalive", b"") is None
    assert parser.portal_id is None
    for topic, payload in RECORDING:
        parser.feed(topic, payload)
    parser.feed(f"N/{PORTAL}/tank/21/Level", b"")
    parser.feed(f"N/{PORTAL}/tank/21/Level", b"garbage")
    parser.feed(f"N/{PORTAL}/tank/21/Level", b"{}")
    parser.feed("N/bad", b"{}")
    assert parser.portal_id == PORTAL
    assert parser.stats == VenusStats(
        messages=2611, removed=1, not_notification=1, bad_topic=1, bad_json=1, no_value=1
    )
    assert parser.stats.errors == 3


def test_topic_cache_is_bounded() -> None:
    """Past its bound the cache starts afresh. Every topic here has the same length (instances
    10000-60009), so each entry has the same estimated size and the cache holds `capacity`
    entries: its count bound, or as many as fit in TOPIC_CACHE_MAX_BYTES when fewer (here the
    byte bound comes first: 43,690 entries of 384 bytes)."""
    venus._TOPIC_CACHE.clear()  # module state: start empty whatever ran before
    n = venus._TOPIC_CACHE_MAX + 10
    parse_message(f"N/{PORTAL}/battery/10000/Soc", b'{"value":1}')
    entries, entry_bytes = venus.topic_cache_info()
    assert entries == 1
    capacity = min(venus._TOPIC_CACHE_MAX, venus.TOPIC_CACHE_MAX_BYTES // entry_bytes)
    for i in range(10001, 10000 + n):
        parse_message(f"N/{PORTAL}/battery/{i}/Soc", b'{"value":1}')
    left = (n - 1) % capacity + 1  # the entries since the last fresh start
    assert venus.topic_cache_info() == (left, left * entry_bytes)
    assert (entry_bytes, capacity, left) == (384, 43_690, 6_320)
    message = parse_message(f"N/{PORTAL}/battery/7/Soc", b'{"value":1}')
    assert message is not None
    assert message.instance == 7


# --- float cleaning -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (13.699999809265137, 13.7),
        (-80.0999984741211, -80.1),
        (14.109999656677246, 14.11),
        (39.06312561035156, 39.063126),
        (-76.48728942871094, -76.48729),
        (6.225000000000023, 6.225),
        (34.745000000000005, 34.745),
        (0.1 + 0.2, 0.3),
        (51.37254901960784, 51.3725490196),
        (863999.9375, 863999.94),
        (0.0, 0.0),
        (-0.5, -0.5),
        (1e300, 1e300),
    ],
)
def test_clean_float_examples(raw: float, clean: float) -> None:
    assert clean_float(raw) == clean


def test_clean_float_non_finite() -> None:
    assert math.isnan(clean_float(math.nan))
    assert clean_float(math.inf) == math.inf


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_clean_float_keeps_the_float32(x: float) -> None:
    cleaned = clean_float(x)
    assert struct.pack("<f", cleaned) == struct.pack("<f", x)
    assert float(format(cleaned, ".9g")) == cleaned  # at most 9 significant digits


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_clean_float_is_close(x: float) -> None:
    # within half a float32 step (2**-24 relative; 2**-150 absolute for subnormals)
    assert math.isclose(clean_float(x), x, rel_tol=6e-8, abs_tol=2**-150)


# --- outgoing -------------------------------------------------------------------------------------


def test_outgoing_topics() -> None:
    assert keepalive_topic(PORTAL) == "R/c0619ab4e25c/keepalive"
    assert venus.SERIAL_TOPIC_FILTER == venus.serial_topic_filter == "N/+/system/0/Serial"
    assert notification_filter(PORTAL) == "N/c0619ab4e25c/#"
    assert read_topic(PORTAL, "vebus", 274, "Dc/0") == "R/c0619ab4e25c/vebus/274/Dc/0"
    assert (
        write_topic(PORTAL, "vebus", 257, "/Hub4/L1/AcPowerSetpoint")
        == "W/c0619ab4e25c/vebus/257/Hub4/L1/AcPowerSetpoint"
    )
    assert notification_topic(PORTAL, "tank", 20, "Level") == "N/c0619ab4e25c/tank/20/Level"
    assert write_payload(-200) == b'{"value":-200}'


def test_keepalive_payloads() -> None:
    assert keepalive_payload() == b""
    assert json.loads(keepalive_payload("ha-1")) == {
        "keepalive-options": [{"full-publish-completed-echo": "ha-1"}]
    }
    assert json.loads(keepalive_payload(suppress_republish=True)) == {
        "keepalive-options": ["suppress-republish"]
    }
    both = keepalive_payload("ha-2", suppress_republish=True)
    assert both == (
        b'{"keepalive-options":[{"full-publish-completed-echo":"ha-2"},"suppress-republish"]}'
    )


def test_round_trip_outgoing_to_incoming() -> None:
    topic = notification_topic(PORTAL, "solarcharger", 288, "Yield/Power")
    message = parse_message(topic, write_payload(123.5))
    assert message == VenusMessage(PORTAL, "solarcharger", 288, "Yield/Power", 123.5)


# --- fuzzing --------------------------------------------------------------------------------------

SEGMENT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
TOPICS = st.one_of(
    st.text(max_size=80),
    st.lists(SEGMENT, min_size=1, max_size=7).map("/".join),
    st.lists(SEGMENT, min_size=1, max_size=6).map(lambda parts: "N/" + "/".join(parts)),
    st.sampled_from([t for t, _ in RECORDING[:50]]),
)
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
PAYLOADS = st.one_of(
    st.binary(max_size=120),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    JSON_VALUES.map(lambda v: json.dumps({"value": v}).encode()),
    st.sampled_from([p for _, p in RECORDING[:50]]),
)


def _finite_everywhere(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite_everywhere(v) for v in value)
    if isinstance(value, dict):
        return all(_finite_everywhere(v) for v in value.values())
    return True


@settings(max_examples=600)
@given(TOPICS, PAYLOADS)
# found by fuzzing (issue 8): numbers beyond a double came out as inf and raised in HA
@example(f"N/{PORTAL}/battery/275/Dc/0/Voltage", b'{"value":1e999}')
@example(f"N/{PORTAL}/battery/275/Dc/0/Voltage", b'{"value":-1e999}')
@example(f"N/{PORTAL}/battery/275/Dc/0/Voltage", b'{"value":[1e999],"min":-1e999}')
# Tomer-w/victron_mqtt's own test payload: the one-key object lost its echo
@example("N/123/full_publish_completed", b'{"full-publish-completed-echo": "echo123"}')
def test_never_raises_and_counts_once(topic: str, payload: bytes) -> None:
    stats = VenusStats()
    message = parse_message(topic, payload, stats)
    total = (
        stats.messages
        + stats.removed
        + stats.not_notification
        + stats.bad_topic
        + stats.bad_json
        + stats.no_value
    )
    assert total == 1
    assert (message is None) == (stats.messages + stats.removed == 0)
    if message is not None:
        # the parts of the topic itself, instance as an int when it is all ASCII digits
        parts = topic.split("/", 4)
        assert message.portal_id == parts[1]
        if len(parts) == 5:
            text = parts[3]
            instance = int(text) if text.isascii() and text.isdigit() else text
            assert (message.service_type, message.instance, message.path) == (
                parts[2],
                instance,
                parts[4],
            )
        else:
            assert (message.service_type, message.instance, message.path) == ("", 0, parts[2])
        # no value of any shape holds a non-finite number (DESIGN: they are None)
        for value in (message.value, message.min_value, message.max_value):
            assert _finite_everywhere(value), message
        # an object's echo is its full-publish-completed-echo text, whatever else it holds
        try:
            data = json.loads(payload, parse_constant=lambda _: None)
        except ValueError, RecursionError:
            data = None
        if isinstance(data, dict):
            echo = data.get("full-publish-completed-echo")
            assert message.echo == (echo if isinstance(echo, str) else None), message


def _without_floats(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, list):
        return all(_without_floats(v) for v in value)
    if isinstance(value, dict):
        return all(_without_floats(v) for v in value.values())
    return True


@given(
    st.text(alphabet="0123456789abcdef", min_size=1, max_size=12),
    st.from_regex(r"[a-z]{1,12}", fullmatch=True),
    st.integers(min_value=0, max_value=4096),
    st.lists(st.from_regex(r"[A-Za-z0-9_]{1,10}", fullmatch=True), min_size=1, max_size=5),
    JSON_VALUES.filter(_without_floats),
)
def test_well_formed_messages_round_trip(
    portal: str, service_type: str, instance: int, path: list[str], value: Any
) -> None:
    topic = notification_topic(portal, service_type, instance, "/".join(path))
    message = parse_message(topic, write_payload(value))
    assert message == VenusMessage(portal, service_type, instance, "/".join(path), value)

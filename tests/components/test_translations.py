"""German, Dutch and French beside English (issue 12 §2): every key of strings.json in every
language, the same placeholders, no empty text; and scripts/translations.py finds each defect."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import sys
from types import ModuleType
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
import pytest

from custom_components.victron_venus.const import DOMAIN
from tests.shared import REPO

COMPONENT = REPO / "custom_components" / DOMAIN
LANGUAGES = ["de", "fr", "nl"]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "translations_script", REPO / "scripts" / "translations.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


TR = _script()


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


ENGLISH = {
    "config": {
        "step": {"user": {"title": "Set up {name}", "description": "Port {port}."}},
        "error": {"cannot_connect": "Could not connect."},
    },
    "entity": {"sensor": {"device_state": {"name": "State", "state": {"bulk": "Bulk"}}}},
}
GERMAN = {
    "config": {
        "step": {"user": {"title": "{name} einrichten", "description": "Port {port}."}},
        "error": {"cannot_connect": "Verbindung fehlgeschlagen."},
    },
    "entity": {
        "sensor": {"device_state": {"name": "Zustand", "state": {"bulk": "Konstantstrom (Bulk)"}}}
    },
}


def _with(tree: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A deep copy of tree with path set to value (None: removed)."""
    copy: dict[str, Any] = json.loads(json.dumps(tree))
    *parents, last = path.split(".")
    node = copy
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        del node[last]
    else:
        node[last] = value
    return copy


@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_has_every_english_key_and_nothing_else(lang: str) -> None:
    """de/nl/fr.json: no key missing, no extra key, same placeholders, no empty text."""
    english = _json(COMPONENT / "strings.json")
    translated = _json(COMPONENT / "translations" / f"{lang}.json")
    assert TR.problems(english, translated) == []


def test_the_languages_are_german_dutch_and_french() -> None:
    """translations/ holds en.json (a copy of strings.json) and exactly these three beside it."""
    assert TR.languages() == LANGUAGES
    assert sorted(p.name for p in (COMPONENT / "translations").glob("*.json")) == [
        "de.json",
        "en.json",
        "fr.json",
        "nl.json",
    ]


def test_a_complete_translation_has_no_problem() -> None:
    """The synthetic pair the defect tests below break one way each."""
    assert TR.problems(ENGLISH, GERMAN) == []


def test_a_key_missing_in_the_language_is_reported() -> None:
    """English has config.error.cannot_connect, the language not."""
    broken = _with(GERMAN, "config.error.cannot_connect", None)
    assert TR.problems(ENGLISH, broken) == [
        TR.Problem("missing", "config.error.cannot_connect", "Could not connect.")
    ]


def test_a_missing_section_reports_each_of_its_keys() -> None:
    """A whole enum's states missing: each state is listed."""
    broken = _with(GERMAN, "entity.sensor.device_state.state", None)
    assert TR.problems(ENGLISH, broken) == [
        TR.Problem("missing", "entity.sensor.device_state.state.bulk", "Bulk")
    ]


def test_a_key_english_does_not_have_is_reported() -> None:
    """A key left behind after English dropped it (or a typo in a key) is extra."""
    broken = _with(GERMAN, "config.error.cannot_conect", "Verbindung fehlgeschlagen.")
    assert TR.problems(ENGLISH, broken) == [TR.Problem("extra", "config.error.cannot_conect")]


def test_a_lost_or_renamed_placeholder_is_reported() -> None:
    """{name} translated as {Name}: Home Assistant would show the raw braces."""
    broken = _with(GERMAN, "config.step.user.title", "{Name} einrichten")
    assert TR.problems(ENGLISH, broken) == [
        TR.Problem("placeholders", "config.step.user.title", "lacks name; adds Name")
    ]
    dropped = _with(GERMAN, "config.step.user.description", "Port.")
    assert TR.problems(ENGLISH, dropped) == [
        TR.Problem("placeholders", "config.step.user.description", "lacks port; adds -")
    ]


def test_an_empty_text_is_reported() -> None:
    """An empty or blank text would render as nothing in the form."""
    for blank in ("", "  "):
        broken = _with(GERMAN, "entity.sensor.device_state.name", blank)
        assert TR.problems(ENGLISH, broken) == [
            TR.Problem("empty", "entity.sensor.device_state.name")
        ]


def test_a_section_where_english_has_a_text_is_reported() -> None:
    """A mapping instead of a text: the English key counts as missing, the nested keys as extra."""
    broken = _with(GERMAN, "entity.sensor.device_state.name", {"de": "Zustand"})
    assert TR.problems(ENGLISH, broken) == [
        TR.Problem("missing", "entity.sensor.device_state.name", "State"),
        TR.Problem("extra", "entity.sensor.device_state.name.de"),
    ]
    text = _with(GERMAN, "entity.sensor.device_state.state", "Konstantstrom")
    assert TR.problems(ENGLISH, text) == [
        TR.Problem("missing", "entity.sensor.device_state.state.bulk", "Bulk"),
        TR.Problem("extra", "entity.sensor.device_state.state"),
    ]


def test_placeholders_are_names_and_key_references() -> None:
    """{name}, ICU's {count, plural, ...} head and [%key:...%] references count; text not."""
    assert TR.placeholders("{name} has {count, plural, one {# trip} other {# trips}}") == {
        "name",
        "count",
    }
    assert TR.placeholders("[%key:common::config_flow::data::host%] and {port}") == {
        "[%key:common::config_flow::data::host%]",
        "port",
    }
    assert TR.placeholders("P = a·v³ (no placeholder)") == set()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The script pointed at a copy of the synthetic English and German files."""
    translations = tmp_path / "translations"
    translations.mkdir()
    (tmp_path / "strings.json").write_text(json.dumps(ENGLISH), encoding="utf-8")
    (translations / "en.json").write_text(json.dumps(ENGLISH), encoding="utf-8")
    (translations / "de.json").write_text(json.dumps(GERMAN), encoding="utf-8")
    monkeypatch.setattr(TR, "REPO", tmp_path)
    monkeypatch.setattr(TR, "STRINGS", tmp_path / "strings.json")
    monkeypatch.setattr(TR, "TRANSLATIONS", translations)
    return tmp_path


def test_check_exit_status_and_listing(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--check: 0 and "complete" when whole; 1 and one line per defect otherwise."""
    assert TR.main(["--check"]) == 0
    assert capsys.readouterr().out == "de: complete (5 keys)\n"
    broken = _with(GERMAN, "config.error.cannot_connect", None)
    broken = _with(broken, "config.error.timeout", "Zeitüberschreitung.")
    (workspace / "translations" / "de.json").write_text(json.dumps(broken), encoding="utf-8")
    assert TR.main(["--check", "de"]) == 1
    assert capsys.readouterr().out == (
        "de: 1 missing, 1 extra\n"
        '  missing      config.error.cannot_connect  "Could not connect."\n'
        "  extra        config.error.timeout\n"
    )
    assert TR.main(["--check", "it"]) == 1
    assert capsys.readouterr().out == "it: no translations/it.json\n"


def test_stub_then_merge_completes_a_language(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--stub prints the missing keys in English; --merge takes them back translated, writes the
    file in English's key order and drops keys English no longer has."""
    partial = _with(GERMAN, "config.step.user.description", None)
    partial = _with(partial, "entity.sensor.device_state.state", None)
    partial = _with(partial, "config.abort.gone", "Nicht mehr in Englisch.")
    (workspace / "translations" / "de.json").write_text(json.dumps(partial), encoding="utf-8")
    assert TR.main(["--stub", "de"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "config": {"step": {"user": {"description": "Port {port}."}}},
        "entity": {"sensor": {"device_state": {"state": {"bulk": "Bulk"}}}},
    }
    translated = workspace / "stub_de.json"
    translated.write_text(
        json.dumps(
            {
                "config": {"step": {"user": {"description": "Port {port}."}}},
                "entity": {"sensor": {"device_state": {"state": {"bulk": "Konstantstrom (Bulk)"}}}},
            }
        ),
        encoding="utf-8",
    )
    assert TR.main(["--merge", "de", str(translated)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "de: complete (5 keys)\n"
    assert captured.err == "dropped (no longer in strings.json):\n  config.abort.gone\n"
    written = _json(workspace / "translations" / "de.json")
    assert written == GERMAN
    assert [k for k, _ in TR.leaves(written)] == [k for k, _ in TR.leaves(ENGLISH)]


def test_merge_refuses_keys_english_does_not_have(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in a translated stub's key writes nothing."""
    before = (workspace / "translations" / "de.json").read_text(encoding="utf-8")
    translated = workspace / "stub_de.json"
    translated.write_text(json.dumps({"config": {"eror": {"x": "y"}}}), encoding="utf-8")
    assert TR.main(["--merge", "de", str(translated)]) == 1
    assert capsys.readouterr().err == "not in strings.json (nothing written):\n  config.eror.x\n"
    assert (workspace / "translations" / "de.json").read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("de", ("Zu Victron Venus hinzufügen", "Konstantstrom (Bulk)", "Landstrom", "In Fahrt")),
        ("nl", ("Toevoegen aan Victron Venus", "Bulk", "Walstroom", "Varend")),
        ("fr", ("Ajouter à Victron Venus", "Bulk", "Alimentation à quai", "En route")),
    ],
)
async def test_home_assistant_loads_the_language(
    hass: HomeAssistant, lang: str, expected: tuple[str, str, str, str]
) -> None:
    """Home Assistant's own translation loader finds translations/<lang>.json (not English)."""
    title, bulk, shore, under_way = expected
    prefix = f"component.{DOMAIN}"
    config = await async_get_translations(hass, lang, "config", {DOMAIN})
    assert config[f"{prefix}.config.step.user.title"] == title
    entity = await async_get_translations(hass, lang, "entity", {DOMAIN})
    assert entity[f"{prefix}.entity.sensor.device_state.state.bulk"] == bulk
    assert entity[f"{prefix}.entity.sensor.ac_input_source.state.shore"] == shore
    assert entity[f"{prefix}.entity.sensor.navigation_state.state.under_way"] == under_way

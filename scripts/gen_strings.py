"""Keep translations/en.json a copy of strings.json, the integration's one source of English text.

custom_components/victron_venus/strings.json is edited by hand. It holds every English text:
entity names (`entity.<platform>.<translation_key>.name`), enum and select states
(`entity.<platform>.<translation_key>.state.<option>`), selector labels
(`selector.<translation_key>.options.<value>`, for `SelectSelectorConfig(translation_key=...)`),
the config and options flows, repair issues, exceptions and the actions (services). No Python
module carries English names, state or option labels; tests/components/test_strings.py checks that
every row, option, form error, abort, issue and exception the code uses has its text here.

Home Assistant reads a custom integration's English from translations/en.json, so that file is a
byte-for-byte copy:

    .venv/bin/python scripts/gen_strings.py          # copy strings.json to translations/en.json
    .venv/bin/python scripts/gen_strings.py --check  # exit 1 if en.json differs (or see below)

Transition (to be removed with the last legacy dict): modules written before this rule may still
define the old dicts: `STRINGS`, `OPTIONS_STRINGS`, `ISSUES`, `EXCEPTIONS` in flows/<type>.py,
`NAMES` and `STATE_NAMES` in descriptions/<type>.py (whose enum rows then get their options' words
as state labels), `STRINGS` in services.py. The sync merges their entries into strings.json,
never replacing text strings.json already has, and prints a warning naming the module; `--check`
also fails when such an entry is missing from strings.json or differs from it. The test fails
while any legacy dict remains: move the text into strings.json and delete the dict.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import importlib
import json
from pathlib import Path
import pkgutil
import sys
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
COMPONENT = REPO / "custom_components" / "victron_venus"
STRINGS = COMPONENT / "strings.json"
EN = COMPONENT / "translations" / "en.json"

#: where each legacy dict lived: package (or module) -> the dict names it may still define
LEGACY_DICTS: dict[str, tuple[str, ...]] = {
    "flows": ("STRINGS", "OPTIONS_STRINGS", "ISSUES", "EXCEPTIONS"),
    "descriptions": ("NAMES", "STATE_NAMES"),
    "services": ("STRINGS",),
}


def dump(strings: dict[str, Any]) -> str:
    """strings.json's text for `strings` (2-space indent, UTF-8 as is, a final newline)."""
    return json.dumps(strings, indent=2, ensure_ascii=False) + "\n"


def state_name(option: str) -> str:
    """'auto_equalize' -> 'Auto equalize' (the label a legacy module's enum option gets)."""
    text = option.replace("_", " ")
    return text[:1].upper() + text[1:]


def _modules() -> Iterator[ModuleType]:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    for name in LEGACY_DICTS:
        module = importlib.import_module(f"custom_components.victron_venus.{name}")
        if not hasattr(module, "__path__"):
            yield module
            continue
        for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
            yield importlib.import_module(f"{module.__name__}.{info.name}")


def _enum_states(module: ModuleType) -> dict[str, Any]:
    """The options of a legacy descriptions module's enum and select rows, labelled by words."""
    from homeassistant.components.select import SelectEntityDescription

    from custom_components.victron_venus.entity import VictronEntityDescription

    entity: dict[str, Any] = {}
    for value in vars(module).values():
        for row in value if isinstance(value, tuple) else ():
            options = getattr(row, "options", None)
            if isinstance(row, VictronEntityDescription) and options:
                platform = "select" if isinstance(row, SelectEntityDescription) else "sensor"
                states = {option: state_name(option) for option in options}
                entity.setdefault(platform, {})[str(row.translation_key)] = {"state": states}
    return entity


def _fragment(package: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
    """A legacy dict as the part of strings.json it stood for."""
    if package == "services":
        return value
    if package == "descriptions":
        leaf = "name" if name == "NAMES" else "state"
        return {
            "entity": {
                platform: {key: {leaf: text} for key, text in rows.items()}
                for platform, rows in value.items()
            }
        }
    if name == "STRINGS":
        config: dict[str, Any] = {}
        if value.get("menu"):
            config["step"] = {"user": {"menu_options": value["menu"]}}
        if value.get("step"):
            config.setdefault("step", {}).update(value["step"])
        for section in ("error", "abort"):
            if value.get(section):
                config[section] = value[section]
        return {"config": config}
    if name == "OPTIONS_STRINGS":
        return {"options": {"step": {"init": value}}} if value else {}
    return {"issues" if name == "ISSUES" else "exceptions": value}


def legacy_fragments() -> list[tuple[str, dict[str, Any], bool]]:
    """(where, part of strings.json, is a dict) for every legacy dict a module still defines,
    where is "<module>.<NAME>"; a descriptions module with one also gives its enum rows' states
    labelled by words (is a dict: False; they only fill in options strings.json lacks)."""
    found: list[tuple[str, dict[str, Any], bool]] = []
    for module in _modules():
        package = module.__name__.split(".")[2]
        names = [
            name for name in LEGACY_DICTS[package] if isinstance(getattr(module, name, None), dict)
        ]
        for name in names:
            fragment = _fragment(package, name, getattr(module, name))
            found.append((f"{module.__name__}.{name}", fragment, True))
        if package == "descriptions" and names:
            found.append(
                (f"{module.__name__} (enum rows)", {"entity": _enum_states(module)}, False)
            )
    return found


def merge(
    target: dict[str, Any], fragment: dict[str, Any], path: str = ""
) -> tuple[list[str], list[str]]:
    """Add what `fragment` has and `target` lacks; never replace a text. Returns (the dotted
    keys added, the dotted keys whose text differs from the fragment's and was kept)."""
    added: list[str] = []
    differ: list[str] = []
    for key, value in fragment.items():
        where = f"{path}.{key}" if path else key
        if key not in target:
            target[key] = value
            added.append(where)
        elif isinstance(value, dict) and isinstance(target[key], dict):
            more, other = merge(target[key], value, where)
            added += more
            differ += other
        elif target[key] != value:
            differ.append(where)
    return added, differ


def main(argv: list[str] | None = None) -> int:
    """Merge legacy dicts into strings.json and copy it to en.json (or --check). Exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if en.json differs from strings.json or legacy text is missing",
    )
    args = parser.parse_args(argv)
    text = STRINGS.read_text(encoding="utf-8")
    strings = json.loads(text)
    failed = False
    for where, fragment, is_dict in legacy_fragments():
        added, differ = merge(strings, fragment)
        if not is_dict:
            differ = []  # words for options strings.json labels otherwise
            if not added:
                continue
        print(
            f"gen_strings: warning: legacy {'dict ' if is_dict else ''}{where}: move its text "
            "into strings.json and delete it",
            file=sys.stderr,
        )
        for key in differ:
            print(
                f"  {key}: strings.json has other text (kept; edit strings.json)", file=sys.stderr
            )
        for key in added:
            print(
                f"  {key}: {'missing from' if args.check else 'added to'} strings.json",
                file=sys.stderr,
            )
        failed |= bool(differ or (args.check and added))
    if not args.check:
        new_text = dump(strings)
        if new_text != text:
            STRINGS.write_text(new_text, encoding="utf-8")
            text = new_text
        EN.parent.mkdir(exist_ok=True)
        if not EN.exists() or EN.read_text(encoding="utf-8") != text:
            EN.write_text(text, encoding="utf-8")
            print("gen_strings: translations/en.json updated", file=sys.stderr)
        return 1 if failed else 0
    if not EN.exists() or EN.read_text(encoding="utf-8") != text:
        print(
            "gen_strings: translations/en.json differs from strings.json; run "
            ".venv/bin/python scripts/gen_strings.py",
            file=sys.stderr,
        )
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Write custom_components/victron_venus/strings.json and translations/en.json.

Everything is collected from the integration's own modules, so a new entry type needs no edit
here: each `flows/<type>.py` has `STRINGS` (menu entry, steps, errors, aborts) and optionally
`OPTIONS_STRINGS`, `ISSUES` (repair issues: {"title", "description"} or a fix flow) and
`EXCEPTIONS` (translated errors: {"message"}); each `descriptions/<type>.py` has `NAMES`
(entity names by platform and translation_key), and the enum states come from the description
rows' options. Run with `.venv/bin/python scripts/gen_strings.py`; a test checks the committed
files are current.
"""

from __future__ import annotations

from collections.abc import Iterator
import importlib
import json
from pathlib import Path
import pkgutil
import sys
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from custom_components.victron_venus import descriptions, flows  # noqa: E402
from custom_components.victron_venus.entity import VictronEntityDescription  # noqa: E402


def _modules(package: ModuleType) -> Iterator[ModuleType]:
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        yield importlib.import_module(f"{package.__name__}.{info.name}")


def state_name(option: str) -> str:
    """'auto_equalize' -> 'Auto equalize'."""
    text = option.replace("_", " ")
    return text[:1].upper() + text[1:]


def _merge(target: dict[str, Any], source: dict[str, Any], where: str) -> None:
    for key, value in source.items():
        if key in target and target[key] != value:
            raise ValueError(f"{where}: {key!r} is defined twice with different text")
        target[key] = value


def entity_strings() -> dict[str, dict[str, dict[str, Any]]]:
    """Entity names from every descriptions module; enum states from the rows' options."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for module in _modules(descriptions):
        for platform, names in getattr(module, "NAMES", {}).items():
            rows = result.setdefault(platform, {})
            for key, name in names.items():
                # a translation_key may be shared by several tables (with its enum states)
                _merge(rows.setdefault(key, {}), {"name": name}, module.__name__)
        for value in vars(module).values():
            if not isinstance(value, tuple):
                continue
            for row in value:
                if isinstance(row, VictronEntityDescription) and getattr(row, "options", None):
                    sensor = result["sensor"][str(row.translation_key)]
                    states = sensor.setdefault("state", {})
                    states.update({option: state_name(option) for option in row.options})
    return result


def strings() -> dict[str, Any]:
    """The whole strings.json."""
    menu: dict[str, str] = {}
    steps: dict[str, Any] = {}
    errors: dict[str, str] = {}
    aborts: dict[str, str] = {
        "already_configured": "This device is already set up.",
        "reconfigure_successful": "The new settings are in use.",
    }
    option_data = {"write_interval": "Write interval"}
    option_descriptions = {
        "write_interval": "Limits how often the recorder writes: each entity writes its state at "
        "most once in this many seconds, always the latest value (every value is still read from "
        "the device); states, errors and alarms are written at once. 0 writes every change (a "
        "much larger database)."
    }
    issues: dict[str, Any] = {}
    exceptions: dict[str, Any] = {}
    for module in _modules(flows):
        where = module.__name__
        flow_strings = getattr(module, "STRINGS", {})
        _merge(menu, flow_strings.get("menu", {}), where)
        _merge(steps, flow_strings.get("step", {}), where)
        _merge(errors, flow_strings.get("error", {}), where)
        _merge(aborts, flow_strings.get("abort", {}), where)
        _merge(issues, getattr(module, "ISSUES", {}), where)
        _merge(exceptions, getattr(module, "EXCEPTIONS", {}), where)
        options = getattr(module, "OPTIONS_STRINGS", {})
        _merge(option_data, options.get("data", {}), where)
        _merge(option_descriptions, options.get("data_description", {}), where)
    return {
        "config": {
            "flow_title": "{name}",
            "step": {
                "user": {"title": "Add to Victron Venus", "menu_options": menu},
                **steps,
            },
            "error": errors,
            "abort": aborts,
        },
        "options": {
            "step": {
                "init": {
                    "title": "Options",
                    "data": option_data,
                    "data_description": option_descriptions,
                }
            }
        },
        "entity": entity_strings(),
        **service_strings(exceptions),
        **({"issues": issues} if issues else {}),
    }


def service_strings(exceptions: dict[str, Any]) -> dict[str, Any]:
    """The "services" and "exceptions" sections: services.py's STRINGS, plus the `EXCEPTIONS`
    (translated HomeAssistantError / ConfigEntryNotReady texts) of every flows/ module."""
    from custom_components.victron_venus import services

    merged = dict(services.STRINGS["exceptions"])
    _merge(merged, exceptions, "flows")
    return {"services": services.STRINGS["services"], "exceptions": merged}


def main() -> None:
    """Write both files."""
    text = json.dumps(strings(), indent=2, ensure_ascii=False) + "\n"
    base = REPO / "custom_components" / "victron_venus"
    (base / "strings.json").write_text(text)
    (base / "translations").mkdir(exist_ok=True)
    (base / "translations" / "en.json").write_text(text)


if __name__ == "__main__":
    main()

"""Exception translations (quality scale: exception-translations; issue 12): every Home Assistant
error the integration makes (ConfigEntryNotReady, ConfigEntryAuthFailed, ConfigEntryError,
HomeAssistantError, ServiceValidationError and their kin) carries translation_domain and
translation_key, and strings.json has the message. Found by walking the integration's AST:
every call of such a class (a raise, or a helper that returns one) and every bare `raise Cls`."""

from __future__ import annotations

import ast
from collections import Counter
import importlib
import inspect
import json
from pathlib import Path
from typing import Any

from homeassistant.exceptions import HomeAssistantError

PACKAGE = Path(__file__).parents[2] / "custom_components" / "victron_venus"
STRINGS: dict[str, Any] = json.loads((PACKAGE / "strings.json").read_text())

#: raises without a translation, by file (none left: every error we raise is translated)
KNOWN_UNTRANSLATED: dict[str, int] = {}


def _module(path: Path) -> Any:
    parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return importlib.import_module(name)


def _resolve(module: Any, node: ast.expr) -> Any:
    """The object an expression names in `module` (Name or dotted Attribute), or None."""
    if isinstance(node, ast.Name):
        return getattr(module, node.id, None)
    if isinstance(node, ast.Attribute):
        owner = _resolve(module, node.value)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def _is_ha_error(obj: Any) -> bool:
    return inspect.isclass(obj) and issubclass(obj, HomeAssistantError)


def scan(tree: ast.AST, module: Any, where: str) -> list[tuple[str, int, str]]:
    """(where, line, class) of every Home Assistant error `tree` makes without
    translation_domain and translation_key (names resolved in `module`), and of every
    translation_key (a string) without exceptions.<key>.message in strings.json."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            made = _resolve(module, node.exc)
            if _is_ha_error(made):  # raise Cls (no arguments at all)
                found.append((where, node.lineno, made.__name__))
        if not isinstance(node, ast.Call):
            continue
        made = _resolve(module, node.func)
        if not _is_ha_error(made):
            continue
        keywords = {kw.arg: kw.value for kw in node.keywords}
        if "translation_key" not in keywords or "translation_domain" not in keywords:
            found.append((where, node.lineno, made.__name__))
            continue
        key = keywords["translation_key"]
        if isinstance(key, ast.Constant) and key.value not in STRINGS["exceptions"]:
            found.append((where, node.lineno, f"{made.__name__}: no text for {key.value!s}"))
    return found


def untranslated() -> list[tuple[str, int, str]]:
    """`scan` over every module of the integration."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        found += scan(tree, _module(path), str(path.relative_to(PACKAGE)))
    return found


def test_every_home_assistant_error_is_translated() -> None:
    counts = Counter(where for where, _line, _cls in untranslated())
    assert dict(counts) == KNOWN_UNTRANSLATED, untranslated()


def test_the_walk_finds_untranslated_errors() -> None:
    """A bare raise, a raise with only a message, an error a helper returns, and a translation
    key without text are found; a translated raise is not."""
    from homeassistant import exceptions

    source = (
        "def f():\n"
        "    raise ConfigEntryNotReady\n"
        "def g():\n"
        "    raise exceptions.HomeAssistantError('no translation')\n"
        "def h():\n"
        "    return ServiceValidationError(translation_domain='d')\n"
        "def i():\n"
        "    raise HomeAssistantError(translation_domain='d', translation_key='no_such_key')\n"
        "def j():\n"
        "    raise HomeAssistantError(translation_domain='d', translation_key='no_trips')\n"
    )
    module = type("M", (), {})()
    module.exceptions = exceptions
    module.ConfigEntryNotReady = exceptions.ConfigEntryNotReady
    module.HomeAssistantError = exceptions.HomeAssistantError
    module.ServiceValidationError = exceptions.ServiceValidationError
    found = scan(ast.parse(source), module, "x.py")
    assert found == [
        ("x.py", 2, "ConfigEntryNotReady"),
        ("x.py", 4, "HomeAssistantError"),
        ("x.py", 6, "ServiceValidationError"),
        ("x.py", 8, "HomeAssistantError: no text for no_such_key"),
    ]

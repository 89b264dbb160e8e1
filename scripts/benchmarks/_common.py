"""Shared helpers for the benchmarks: comparison libraries (benchmark-only installs), timing."""

from __future__ import annotations

from collections.abc import Callable
import importlib
from pathlib import Path
import shutil
import subprocess
import sys
import time
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO.parent / "shared" / "fixtures"
BENCH_LIBS = REPO / ".cache" / "bench-libs"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def comparison_library(requirement: str, module: str) -> ModuleType | None:
    """Install `requirement` (a PyPI spec) under .cache/bench-libs (never .venv); import `module`.

    The folder is appended to sys.path, so the project's own pinned packages still win.
    Returns None (and says why on stderr) when the library cannot be installed or imported,
    so a benchmark can still print its own numbers.
    """
    target = BENCH_LIBS / requirement.replace("=", "_").replace("<", "_").replace(">", "_")
    if not target.exists():
        uv = shutil.which("uv", path=str(REPO / ".venv" / "bin")) or shutil.which("uv")
        cmd = [uv, "pip", "install", "-q", "--python", sys.executable, "--target", str(target)]
        if uv is None:
            cmd = [sys.executable, "-m", "pip", "install", "-q", "--target", str(target)]
        result = subprocess.run([*cmd, requirement], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            print(
                f"bench: could not install {requirement}: {result.stderr.strip()[-300:]}",
                file=sys.stderr,
            )
            return None
    if str(target) not in sys.path:
        sys.path.append(str(target))
    try:
        return importlib.import_module(module)
    except Exception as err:  # a comparison library that fails to import must not stop the bench
        print(f"bench: could not import {module}: {err!r}", file=sys.stderr)
        return None


def best_time(func: Callable[[], object], repeat: int = 5, min_seconds: float = 0.2) -> float:
    """Best wall time (s) of one call of `func` over `repeat` rounds, each >= min_seconds long."""
    best = float("inf")
    for _ in range(repeat):
        calls = 0
        start = time.perf_counter()
        while True:
            func()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / calls)
    return best


def table(header: list[str], rows: list[list[object]]) -> str:
    """Render a markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)

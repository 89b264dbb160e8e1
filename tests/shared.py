"""Where the shared captures live. Tests that need them fail loudly when the folder is missing."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
REFERENCE = SHARED / "reference"


def fixture_path(*parts: str) -> Path:
    """Return a path under ../shared/fixtures; raise FileNotFoundError (never skip) when absent."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the tests read real captures from ../shared/fixtures"
        )
    return path


def reference_path(*parts: str) -> Path:
    """Return a path under ../shared/reference; raise FileNotFoundError when absent."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: ../shared/reference must sit beside the repo")
    return path

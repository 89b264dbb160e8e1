"""Test setup shared by every test.

The integration is imported before any `hass` fixture starts, so Home Assistant finds this
repository's custom_components package and not the one inside phcc's testing_config
(ha_testing.md §3.1).

Hypothesis profiles. CI must be deterministic, so under ``CI=true`` (set by .ci/run, GitHub
Actions and most CI services) the ``ci`` profile runs every property test derandomized: the same
examples on every run and machine, no example database carried between runs, no deadline and no
too-slow health check (both depend on the machine's load, not on the code). Each test keeps its own
``max_examples``. Locally the ``dev`` profile stays random (that is how new failures are found) but
also has no deadline; ``HYPOTHESIS_PROFILE=ci`` reproduces CI's examples anywhere. Long random
exploration is ``scripts/fuzz``'s job, not the suite's. Every failure Hypothesis found is kept as
an explicit ``@example`` or a plain test beside the property that found it.

SQL statements are not logged (see below).
"""

import logging
import os

from hypothesis import HealthCheck, settings

import custom_components.victron_venus  # noqa: F401  (early import, see above)

# phcc's plugin logs every SQL statement at INFO (its module sets sqlalchemy.engine's level when
# pytest loads it, before this file). Statements the recorder's thread runs between two tests
# reach no test's capture and went to the CI log (767 of its 927 lines); and SQLAlchemy's logging
# costs time in every recorder test. A test that needs them sets the level itself.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

_TIMING_CHECKS = [HealthCheck.too_slow]

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_TIMING_CHECKS,
)
settings.register_profile("dev", deadline=None, print_blob=True)


def _profile() -> str:
    """``HYPOTHESIS_PROFILE`` if set, else ``ci`` under CI=true (or 1, yes), else ``dev``."""
    chosen = os.environ.get("HYPOTHESIS_PROFILE")
    if chosen:
        return chosen
    return "ci" if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"} else "dev"


settings.load_profile(_profile())

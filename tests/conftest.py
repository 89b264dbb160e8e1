"""Test setup shared by every test.

The integration is imported before any `hass` fixture starts, so Home Assistant finds this
repository's custom_components package and not the one inside phcc's testing_config
(ha_testing.md §3.1).
"""

import custom_components.victron_venus  # noqa: F401  (early import, see above)

"""Config-flow parts, one module per entry type; config_flow.py combines them into one flow.

Each module has a mixin with its steps (a subclass of ConfigFlow without a domain), a
`STRINGS` dict with its config strings (steps, errors, aborts; scripts/gen_strings.py merges
them into strings.json), and optionally `options_fields(entry)` and `OPTIONS_STRINGS` for the
entry type's own options beside the shared update interval.
"""

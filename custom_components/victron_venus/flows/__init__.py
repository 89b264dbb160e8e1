"""Config-flow parts, one module per entry type; config_flow.py combines them into one flow.

Each module has a mixin with its steps (a subclass of ConfigFlow without a domain), and
optionally `options_fields(entry)` for the entry type's own options beside the shared write
interval. Their text (steps, errors, aborts, options, selector labels) is in strings.json only.
"""

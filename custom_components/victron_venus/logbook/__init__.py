"""The automatic boat logbook: trip detection, efficiency curve and GPX/CSV export.

`detector` and `efficiency` are pure (standard library only, no I/O, no Home Assistant); `export`
builds GPX and CSV text. The Home Assistant glue lives in separate modules of this package.
"""

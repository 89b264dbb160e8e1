"""Battery maths, pure: no Home Assistant, no I/O, no clock of its own (mypy strict).

What the battery sources compute from the values their protocols decode (SI units throughout):

- `energy`: charged and discharged energy (Wh) integrated from power samples (W) over time (s).
- `bank`: several batteries combined as wired (series or parallel) into one pack, and the cells
  across the bank (extremes, spread, the largest delta inside one battery).
- `charge_limits`: the charge voltage and charge/discharge current limits a GX gets from a BMS
  driver (CVL, CCL, DCL), computed the way dbus-serialbattery does.
- `alerts`: the bank's alerts (state of charge, cell voltages, imbalance, a member lost) with
  hysteresis.

The sources (sources/jbd.py, sources/bank.py) feed these with the latest records and the time and
push the results; tests and benchmarks use them directly.
"""

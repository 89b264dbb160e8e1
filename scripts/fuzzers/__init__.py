"""Fuzzers for scripts/fuzz: one module per target (vedirect, jbd, venus, detector)."""

"""Fuzzers for scripts/fuzz: one module per target (vedirect, vedirect_hex, jbd, venus,
detector)."""

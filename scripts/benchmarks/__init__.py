"""Benchmarks run by scripts/bench. Each module has main() that prints a markdown table."""

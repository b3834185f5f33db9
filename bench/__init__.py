"""Benchmarks: `make bench` (see README). Results are written to BENCHMARKS.md."""

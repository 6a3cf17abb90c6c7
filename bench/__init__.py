"""Benchmarks: they print figures and write them under bench/results/. Never timed asserts in tests."""

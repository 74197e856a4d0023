"""Benchmark commands (run through make targets); each prints its figures."""

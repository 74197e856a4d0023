"""Benchmark commands (run through make targets; they print figures, they assert nothing)."""

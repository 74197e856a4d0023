"""Load + fault soak of the local stack: concurrent integrators, injected faults, then the invariants.

    make soak                       (or: python -m benchmarks.soak --requests 3000 --clients 16)

See `benchmarks.soak.run` for what one run does and docs/RELIABILITY.md ("Soak") for the last figures.
"""

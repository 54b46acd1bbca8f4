"""The ``clr demo`` job and the tasks it (and ``benchmarks/``) trains on."""

"""Thin entry points (benchmark, comparisons, validation, sweeps) around functions the tests call."""

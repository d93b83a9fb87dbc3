"""Tests of the foundation and state layers (errors, paths, records, prices, config, hardware, store)."""

"""Reliability: bad input, store faults, dead runners (issue 16)."""

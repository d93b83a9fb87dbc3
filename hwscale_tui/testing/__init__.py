"""Test doubles the tests, benchmarks and demos share (never imported by the product itself)."""

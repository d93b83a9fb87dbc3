"""Tests of the repository itself (its documents and what they name)."""

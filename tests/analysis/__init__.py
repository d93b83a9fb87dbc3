"""Tests of hwscale_tui.analysis."""

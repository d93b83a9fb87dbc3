"""Tests of hwscale_tui.sources."""

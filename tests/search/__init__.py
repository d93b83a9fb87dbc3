"""Tests of hwscale_tui.search."""

"""Tests of hwscale_tui.sweep."""

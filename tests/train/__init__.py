"""Tests of hwscale_tui.train."""

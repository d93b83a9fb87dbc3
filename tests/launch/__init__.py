"""Tests of hwscale_tui.launch."""

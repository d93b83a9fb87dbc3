"""Tests of the app (hwscale_tui.tui)."""

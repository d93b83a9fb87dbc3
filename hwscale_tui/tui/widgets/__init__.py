"""Widgets grouped by feature: header, trial table, plots, pair matrix."""

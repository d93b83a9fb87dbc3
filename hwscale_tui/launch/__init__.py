"""Per-pair commands (both runners) and the launch supervisor."""

"""The test suite (a package, so helpers are imported as ``tests.support...`` / ``tests.<area>...``)."""

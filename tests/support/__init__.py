"""Test support, not product: helpers and doubles the tests, benchmarks and screenshot script share.

Never installed (``hwscale_tui`` is the only installed package). Scripts outside ``tests/`` import
these modules with the repository root on ``sys.path``: ``from tests.support.demo import ...``.
"""

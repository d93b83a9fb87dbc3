"""Metta interop: what each Metta version accepts (profiles), the per-pair command, the tool maker
``hwscale-tui metta install-tool`` writes into a checkout, and the pitfalls ``plan`` warns about.

Facts come from Metta-AI/metta at the commits in :mod:`hwscale_tui.metta.profiles`; docs/metta.md
cites each one by file:line.
"""

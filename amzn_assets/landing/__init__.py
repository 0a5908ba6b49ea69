"""Exactly-once intake of uploaded files into columnar landed segments, tracked by a SQL ledger.

See docs/landing.md for the protocol (claim, write segments, commit, archive) and its recovery.
"""

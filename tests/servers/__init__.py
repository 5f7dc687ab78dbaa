"""Loopback stand-ins for services that cannot run on a small machine (a Vault API server).

They live with the tests, not in the shipped package: nothing in ``fleet`` imports them, and the
wheel sent to Ray clusters does not carry them (tests/test_sync_wheel.py checks it).
"""

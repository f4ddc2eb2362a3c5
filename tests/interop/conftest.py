"""The live interop tests: real authorization servers on loopback.

This directory holds ``interop_harness.py`` (what they share); having a conftest here puts
the directory on ``sys.path`` for the tests in the subdirectories as well.
"""

"""The version of synthlib (pyproject.toml says the same; tests/test_packaging.py checks)."""

VERSION = "0.1.0"

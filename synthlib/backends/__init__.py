"""Backends: the Batch API and the providers that stand in for it."""

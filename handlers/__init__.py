"""Tornado handlers: one module per family of endpoints, sharing ``base``."""

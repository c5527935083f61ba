"""The WebSocket beneath the match socket.

A sans-I/O RFC 6455 core (``rfc6455``), its Tornado adapter (``frames``),
and the budget that ends a flood of frames (``flood``).
"""

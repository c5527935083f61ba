"""Routing: a match's requests and sockets passed to the node that holds it."""

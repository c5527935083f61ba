"""End-to-end tests: a real server and database, driven over the wire."""

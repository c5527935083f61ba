"""What guards the doors: credentials, the login throttle, proxies, connection limits."""

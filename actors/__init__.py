"""Live matches: one actor per ongoing match, the registry, elo and game rules."""

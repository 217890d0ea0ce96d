"""The deterministic synthetic generator: a world of items and users, then days of sessions."""

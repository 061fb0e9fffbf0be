"""Running instances' services: the local supervisor, and exports for other engines."""

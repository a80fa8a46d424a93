"""Event handlers of the kitchen app (registered at app ready)."""

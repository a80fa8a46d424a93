"""Event handlers of the analytics app (registered at app ready)."""

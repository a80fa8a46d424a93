"""Event handlers of the notifications app (registered at app ready)."""

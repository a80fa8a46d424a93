"""Cross-cutting defences: request limits, throttles, login lockout, token expiry, privacy."""

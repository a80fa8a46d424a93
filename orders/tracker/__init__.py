"""The customer's live order tracker: /track/<order id>/<token>/ (public, token-guarded)."""

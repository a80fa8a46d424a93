"""Event-bus benchmark: `python -m bench --help`. See __main__.py."""

"""Event-bus benchmark: `python -m pizzeria.bench --help`. See __main__.py."""


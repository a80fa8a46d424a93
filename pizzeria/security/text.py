"""What text the code accepts from outside before a serializer or form has looked at it.

PostgreSQL refuses NUL in any text value (psycopg raises DataError: a 500 if it gets that far),
and a lone surrogate (it arrives through a JSON escape such as "\\ud800") cannot be encoded
as UTF-8 at all: hashing, logging or storing it raises UnicodeEncodeError. HTTP itself forbids
NUL, CR and LF in header values (RFC 9110 §5.5). So hand-written code that reads raw request data
asks `text_problem()` first and answers 400 with its message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why this text cannot be taken (a sentence), or None if it can."""
    if "\x00" in value:
        return "contains a NUL character"
    if _SURROGATE.search(value):
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def first_problem(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first (name, value) pair that cannot be taken, as "<name> <problem>", or None."""
    for name, value in pairs:
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            return f"{name[:40]!r} {problem}"
    return None


def stable_bytes(value: str) -> bytes:
    """UTF-8 of any Python str, lone surrogates included (for hashing into a cache key, never for storing)."""
    return value.encode("utf-8", "surrogatepass")

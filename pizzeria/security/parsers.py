"""A JSON parser that answers 400, never 500, for bodies nested too deeply.

DRF's JSONParser lets the decoder's RecursionError through (a body of 50,000 "[" is a 500), and
a body nested a few hundred levels deep still parses but can overflow the stack later (in
validation or re-serialisation). So: catch RecursionError, then refuse anything deeper than
REQUEST_MAX_JSON_DEPTH, measured without recursion. No request of this API nests beyond 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def json_depth(value: object) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, [] or {} is 1), iteratively."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in node)
    return deepest


class SafeJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(self._too_deep()) from None
        if json_depth(data) > settings.REQUEST_MAX_JSON_DEPTH:
            raise ParseError(self._too_deep())
        return data

    @staticmethod
    def _too_deep() -> str:
        return f"JSON parse error - nested deeper than {settings.REQUEST_MAX_JSON_DEPTH} levels."

"""The product's source, parsed: for tests that hold a rule over every module (not tests,
migrations or installed packages)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ is the benchmark (`make bench`), not deployed code.
NOT_PRODUCT_CODE = {".venv", "node_modules", "migrations", "tests", "bench", ".git", ".run"}


def product_modules() -> Iterator[tuple[str, ast.Module]]:
    """(path relative to the repository, syntax tree) of each product module."""
    for path in sorted(ROOT.rglob("*.py")):
        if NOT_PRODUCT_CODE & set(path.relative_to(ROOT).parts[:-1]):
            continue
        where = str(path.relative_to(ROOT))
        yield where, ast.parse(path.read_text(), filename=where)

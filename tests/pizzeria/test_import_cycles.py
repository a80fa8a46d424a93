"""No import circles between product modules (issue 22): a new one fails here, naming its modules.

The graph is grimp's (the engine of import-linter, whose contracts in pyproject.toml hold the
layers): every import, function-level ones included, since those only hide a circle; imports
under `if TYPE_CHECKING:` are left out (they never run).
"""

from __future__ import annotations

import ast

import grimp

from tests.sourcecode import ROOT, product_modules

PRODUCT = (
    "pizzeria",
    "eventbus",
    "orders",
    "kitchen",
    "notifications",
    "analytics",
    "integrations",
    "ops",
    "simulation",
)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_product_modules_import_each_other_in_no_circle():
    graph = grimp.build_graph(*PRODUCT, include_external_packages=False, exclude_type_checking_imports=True)
    assert len(graph.modules) > 100
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_circle_it_is_shown():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert import_cycles(graph) == [["a.x", "a.y"]]


def unexplained_function_imports(source: str, tree: ast.Module) -> list[int]:
    """Lines of imports inside a function with no comment on them or on the two lines above."""
    lines = source.splitlines()
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            first = node.lineno - 1  # the first line of its group of consecutive imports
            while first > 0 and lines[first - 1].lstrip().startswith(("import ", "from ")):
                first -= 1
            if not any("#" in line for line in lines[max(first - 2, 0) : node.end_lineno]):
                found.append(node.lineno)
    return found


def test_a_function_level_import_says_why_it_is_not_at_the_top():
    # A function-level import must have a reason other than dodging a circle (there is none left):
    # AppConfig.ready(), an optional dependency, start-up order. The comment says which.
    unexplained = [
        f"{where}:{line}"
        for where, tree in product_modules()
        for line in unexplained_function_imports((ROOT / where).read_text(), tree)
    ]
    assert unexplained == []


def test_an_import_without_a_reason_is_found():
    source = "def f():\n    import json\n\n    return json\n\n\ndef g():\n    # why\n    import csv\n"
    assert unexplained_function_imports(source, ast.parse(source)) == [2]

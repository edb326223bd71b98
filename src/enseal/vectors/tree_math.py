"""Runner for ``tree-math.json``: array-tree arithmetic (RFC 9420 appendix C)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.errors import LocalProtocolError
from enseal.mls import tree_math
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import has_keys, integer, items, list_cases

NAME = "tree-math"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"n_leaves", "n_nodes", "root", "parent"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def _or_none(fn: object, *args: int) -> int | None:
    assert callable(fn)
    try:
        result = fn(*args)
    except LocalProtocolError:
        return None
    assert isinstance(result, int)
    return result


def run(case: Case) -> None:
    n_leaves = integer(case.data, "n_leaves")
    n_nodes = integer(case.data, "n_nodes")
    expect_equal("n_nodes", tree_math.node_width(n_leaves), n_nodes)
    expect_equal("root", tree_math.root(n_leaves), integer(case.data, "root"))
    for name, fn, extra in (
        ("left", tree_math.left, ()),
        ("right", tree_math.right, ()),
        ("parent", tree_math.parent, (n_leaves,)),
        ("sibling", tree_math.sibling, (n_leaves,)),
    ):
        want = items(case.data, name)
        expect_equal(f"{name} length", len(want), n_nodes)
        for x in range(n_nodes):
            expect_equal(f"{name}({x})", _or_none(fn, x, *extra), want[x])

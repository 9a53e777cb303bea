"""The names a section body uses, checked against the facts once per file when the content is loaded.

A body that prints `{{ step2.scroe }}` would fail in every guide, in Jinja's words
(`'dict object' has no attribute 'scroe'`). Checked here, it is one located
problem per file and line, with the fact it most likely meant.

The check only reports what is certainly wrong: a name that is neither a fact nor
set in the body, or a key that a fact mapping does not have. Anything it cannot
follow (a computed index, a value set in the body) is left to the renderer.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from jinja2 import nodes

from generator.decide.rules import fact_path

_JINJA_LOCALS = {"loop", "caller", "varargs", "kwargs", "self"}
_DICT_METHODS = {"items", "keys", "values", "get"}
_GUARDS = {"defined", "undefined", "none"}  # `x is defined`: the body itself asks whether the name exists
_UNKNOWN = object()  # a value whose shape the check does not know


def unknown_names(tree: nodes.Template, facts: dict, globals_: Iterable[str]) -> list[tuple[int, str]]:
    """(line in the body, message) for each name or fact key the body uses that does not exist."""
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    stored |= {n.name for n in tree.find_all(nodes.NSRef)}
    stored |= {n.name for n in tree.find_all(nodes.Macro)}
    shapes = _loop_shapes(tree, facts, stored)
    known = set(facts) | stored | set(globals_) | _JINJA_LOCALS
    asked = [t.node for t in tree.find_all(nodes.Test) if t.name in _GUARDS]
    asked += [f.node for f in tree.find_all(nodes.Filter) if f.name in ("default", "d") and f.node is not None]
    guarded = {_dotted(fact_path(node)) for node in asked if fact_path(node) is not None}
    found: dict[tuple[int, str], str] = {}
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)):
        path = fact_path(node)
        if path is None or getattr(node, "ctx", "load") != "load" or isinstance(node, nodes.Name) and path[0] in known:
            continue
        if any(_dotted(path[:i]) in guarded for i in range(1, len(path) + 1)):
            continue
        root = path[0]
        if root not in known:
            found.setdefault((node.lineno, root), f"unknown name '{root}'{_hint(root, known, '')}")
            continue
        value = shapes.get(root, facts.get(root, _UNKNOWN)) if root not in stored or root in shapes else _UNKNOWN
        message = _resolve(path, value)
        if message:
            found.setdefault((node.lineno, message), message)
    return sorted((line, message) for (line, _), message in found.items())


def _dotted(path: list[Any]) -> str:
    """`['bands', 0, 'label']` -> `bands[0].label`, as a body writes it."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _resolve(path: list[Any], value: Any) -> str | None:
    """A message when a key along `path` is certainly missing, else None."""
    for i, part in enumerate(path[1:], start=1):
        if isinstance(value, dict):
            if part in value:
                value = value[part]
                continue
            if part in _DICT_METHODS:
                return None
            dotted = _dotted(path[:i])
            return f"unknown name '{dotted}.{part}'{_hint(str(part), set(map(str, value)), dotted + '.')}"
        if isinstance(value, list) and isinstance(part, int):
            value = value[0] if value else _UNKNOWN
            continue
        return None  # text, numbers, dates, lists: their own attributes are the renderer's business
    return None


def _hint(name: str, known: set[str], prefix: str) -> str:
    near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    if near:
        return f"; did you mean '{prefix}{near[0]}'?"
    return "; the facts are listed in docs/architecture.md#facts-what-rules-and-section-bodies-can-use"


def _loop_shapes(tree: nodes.Template, facts: dict, stored: set[str]) -> dict[str, Any]:
    """`{% for phase in plan.phases %}`: `phase` has the shape of one item of the fact list (when unambiguous)."""
    shapes: dict[str, Any] = {}
    targets: dict[str, int] = {}
    for name in (n for n in tree.find_all(nodes.Name) if n.ctx == "store"):
        targets[name.name] = targets.get(name.name, 0) + 1
    for loop in tree.find_all(nodes.For):
        if not isinstance(loop.target, nodes.Name) or targets.get(loop.target.name) != 1:
            continue
        path = fact_path(loop.iter)
        if path is None or path[0] in stored or path[0] not in facts:
            continue
        value: Any = facts
        for part in path:
            value = value.get(part, _UNKNOWN) if isinstance(value, dict) else _UNKNOWN
        if isinstance(value, list) and value and isinstance(value[0], dict):
            shapes[loop.target.name] = value[0]
    return shapes

"""Parse, check and evaluate `when` rules: small boolean expressions over the facts.

A rule is parsed with Jinja's expression parser and then checked against an
allowlist of node types; it is evaluated by the small interpreter below, never
compiled or run as Jinja code. Names are checked against the facts schema at
load time, so a misspelt fact is an error, never a silently false rule.
"""

from __future__ import annotations

import difflib
import operator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Collection, Mapping

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

from generator.errors import InputError, Problem

_ENV = SandboxedEnvironment()
_ORDERING = {"lt": operator.lt, "lteq": operator.le, "gt": operator.gt, "gteq": operator.ge}
_ALLOWED = (nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Name, nodes.Getattr,
            nodes.Getitem, nodes.Const, nodes.List, nodes.Tuple)
_MAX_LENGTH = 2000


class RuleError(Exception):
    """A rule could not be parsed, checked or evaluated; `lineno` is within the rule."""

    def __init__(self, message: str, lineno: int = 1):
        super().__init__(message)
        self.lineno = lineno


@dataclass(frozen=True)
class Rule:
    """A checked rule: its text, its parsed form and the facts it reads."""

    text: str
    node: nodes.Node
    names: tuple[str, ...]
    source: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)  # the file line of the rule's first line

    run: Callable[[dict], Any] = field(init=False, compare=False, repr=False)  # the parsed form as a function

    def __post_init__(self) -> None:
        object.__setattr__(self, "run", _compile(self.node))  # a guide's rules are evaluated for every guide

    def evaluate(self, facts: dict) -> bool:
        """True or False for these facts."""
        value = self.run(facts)
        if not isinstance(value, bool):
            raise RuleError(f"rule gave {value!r}, not true or false")
        return value

    def values(self, facts: dict) -> dict[str, Any]:
        """The value of every fact this rule reads (for `explain`)."""
        return {name: lookup(facts, name) for name in self.names}


def lookup(facts: dict, dotted: str) -> Any:
    """The value of a dotted fact name such as `step2.score`."""
    value: Any = facts
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def parse_rule(text: Any, *, schema: dict, source: str, line: int | None, field: str = "when") -> Rule:
    """Parse and check one rule; raise InputError located at the rule's line in its file."""
    if isinstance(text, bool):
        text = "true" if text else "false"
    try:
        if not isinstance(text, str) or not text.strip():
            raise RuleError("expected a rule such as \"band.id == 'low'\" (a quoted string)")
        if len(text) > _MAX_LENGTH:
            raise RuleError(f"rule is longer than {_MAX_LENGTH} characters")
        node = _parse(text)
        names: list[str] = []
        _check(node, schema, names)
        if not _is_boolean(node, schema):
            raise RuleError("rule must be a comparison, a true/false fact, or and/or/not of those", node.lineno)
    except RuleError as exc:
        where = None if line is None else line + exc.lineno - 1
        raise InputError(Problem(source, where, field, f"{exc} (in the rule {text!r})" if isinstance(text, str) else str(exc))) from None
    return Rule(text, node, tuple(dict.fromkeys(names)), source, line)


def _parse(text: str) -> nodes.Node:
    try:
        parser = Parser(_ENV, text, state="variable")
        node = parser.parse_expression()
        if not parser.stream.eos:
            token = parser.stream.current
            if token.type == "assign":
                raise RuleError("`=` sets a value; to compare, use `==`", token.lineno)
            raise RuleError(f"unexpected {token.value!r} after the expression", token.lineno)
    except TemplateSyntaxError as exc:
        raise RuleError(f"syntax error: {exc.message}", exc.lineno or 1) from None
    except RecursionError:
        raise RuleError("rule is nested too deeply") from None
    return node


def fact_path(node: nodes.Node) -> list[Any] | None:
    """`a.b[0]` -> ['a', 'b', 0]; None when the node is not a plain fact path."""
    if isinstance(node, nodes.Name):
        return [node.name]
    if isinstance(node, nodes.Getattr):
        base = fact_path(node.node)
        return None if base is None else base + [node.attr]
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = fact_path(node.node)
        return None if base is None else base + [node.arg.value]
    return None


def _check(node: nodes.Node, schema: dict, names: list[str]) -> None:
    if isinstance(node, nodes.Not) and isinstance(node.node, nodes.Test) and node.node.name.lower() == "none":
        raise RuleError("`is not none` is a test, and tests are not allowed in rules; write `!= none`", node.lineno)
    if isinstance(node, nodes.Test) and node.name.lower() == "none":
        raise RuleError("`is none` is a test, and tests are not allowed in rules; write `== none`", node.lineno)
    if not isinstance(node, _ALLOWED):
        kind = type(node).__name__
        hint = {"Call": "calls", "Filter": "filters", "Test": "tests (`is ...`)"}.get(kind, f"`{kind}` expressions")
        raise RuleError(f"{hint} are not allowed in rules", node.lineno)
    if isinstance(node, nodes.Operand) and node.op not in ("eq", "ne", "in", "notin", *_ORDERING):
        raise RuleError(f"operator {node.op!r} is not allowed in rules", node.lineno)
    if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)):
        path = fact_path(node)
        if path is None:
            raise RuleError("only fact names, `.attribute` and `[literal]` may be used to reach a fact", node.lineno)
        _resolve(path, schema, node.lineno)
        names.append(".".join(str(p) for p in path))
        return
    if isinstance(node, nodes.Compare):  # `band.id < 5` would fail for every applicant: say so at load time
        left = node.expr
        for operand in node.ops:
            kinds = (_kind(left, schema), _kind(operand.expr, schema))
            if operand.op in _ORDERING and None not in kinds and kinds[0] != kinds[1]:
                raise RuleError(f"cannot order {kinds[0]} against {kinds[1]}", node.lineno)
            left = operand.expr
    for child in node.iter_child_nodes():
        _check(child, schema, names)


def _resolve(path: list[Any], schema: dict, lineno: int) -> Any:
    value: Any = schema
    for i, part in enumerate(path):
        dotted = ".".join(str(p) for p in path[: i + 1])
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int):
            value = value[0] if value else None
        else:
            raise RuleError(f"unknown fact {dotted!r}{suggest(path[:i], part, value)}", lineno)
    return value


def suggest(parent: list[Any], part: Any, value: Any) -> str:
    """`; did you mean 'flags.step1_fail'?` for a near miss; otherwise where the names are listed."""
    prefix = "".join(f"{p}." for p in parent)
    if isinstance(value, dict) and isinstance(part, str):
        near = difflib.get_close_matches(part.lower(), [str(k) for k in value], n=1, cutoff=0.6)
        if near:
            return f"; did you mean '{prefix}{near[0]}'?"
        if len(value) <= 8:
            return f"; {prefix.rstrip('.') or 'the facts'} has: {', '.join(sorted(map(str, value)))}"
    return "; the facts are listed in docs/architecture.md#facts-what-rules-and-section-bodies-can-use"


def _kind(node: nodes.Node, schema: dict) -> str | None:
    """What a comparison operand holds, by the facts schema: 'text', 'a number', 'a date', 'true/false' or None."""
    if isinstance(node, nodes.Const):
        value = node.value
    else:
        path = fact_path(node)
        try:
            value = _resolve(path, schema, node.lineno) if path is not None else None
        except RuleError:
            return None
    if isinstance(value, bool):
        return "true/false"
    kinds = ((int, "a number"), (float, "a number"), (str, "text"), (date, "a date"))
    return next((name for kind, name in kinds if isinstance(value, kind)), None)


def _is_boolean(node: nodes.Node, schema: dict) -> bool:
    if isinstance(node, nodes.Compare):
        return True
    if isinstance(node, nodes.Not):
        return _is_boolean(node.node, schema)
    if isinstance(node, (nodes.And, nodes.Or)):
        return _is_boolean(node.left, schema) and _is_boolean(node.right, schema)
    if isinstance(node, nodes.Const):
        return isinstance(node.value, bool)
    path = fact_path(node)
    return path is not None and isinstance(_resolve(path, schema, node.lineno), bool)


def _truth(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise RuleError(f"{value!r} is not true or false")


def _compile(node: nodes.Node) -> Callable[[dict], Any]:
    """The rule as a function of the facts: the tree is walked once, when the rule is loaded."""
    if isinstance(node, nodes.Const):
        value = node.value
        return lambda facts: value
    if isinstance(node, (nodes.List, nodes.Tuple)):
        items = [_compile(item) for item in node.items]
        return lambda facts: [item(facts) for item in items]
    if isinstance(node, nodes.Not):
        inner = _compile(node.node)
        return lambda facts: not _truth(inner(facts))
    if isinstance(node, nodes.And):
        left, right = _compile(node.left), _compile(node.right)
        return lambda facts: _truth(left(facts)) and _truth(right(facts))
    if isinstance(node, nodes.Or):
        left, right = _compile(node.left), _compile(node.right)
        return lambda facts: _truth(left(facts)) or _truth(right(facts))
    if isinstance(node, nodes.Compare):
        first = _compile(node.expr)
        operands = [(operand.op, _compile(operand.expr)) for operand in node.ops]

        def compare(facts: dict) -> bool:
            left = first(facts)
            for op, operand in operands:
                right = operand(facts)
                if not _compare(op, left, right):
                    return False
                left = right
            return True
        return compare
    path = tuple(fact_path(node) or ())

    def fact(facts: dict) -> Any:
        value: Any = facts
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value
    return fact


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if op in ("in", "notin"):
        try:
            found = left in right
        except TypeError:
            found = False
        return found if op == "in" else not found
    if left is None or right is None:
        return False
    try:
        return _ORDERING[op](left, right)
    except TypeError:
        raise RuleError(f"cannot compare {left!r} with {right!r}") from None


def impossible_values(rule: Rule, domains: Mapping[str, Collection[Any]]) -> list[Problem]:
    """A located warning for each comparison of a fact with a value it never holds (`visa == 'J1'`).

    `domains` maps a dotted fact name to every value it can hold (for a list fact, every item).
    """
    found: list[Problem] = []
    compares = [rule.node] if isinstance(rule.node, nodes.Compare) else []
    for compare in compares + list(rule.node.find_all(nodes.Compare)):
        left = compare.expr
        for operand in compare.ops:
            for fact, literal, contains in _fact_and_literals(left, operand.op, operand.expr):
                values = domains.get(fact)
                if values is None:
                    continue
                for value in literal:
                    if value not in values:
                        line = None if rule.line is None else rule.line + compare.lineno - 1
                        found.append(Problem(rule.source or "rule", line, "when", _never(fact, value, values, rule,
                                                                                      contains)))
            left = operand.expr
    return found


def _fact_and_literals(left: nodes.Node, op: str, right: nodes.Node) -> list[tuple[str, list[Any], bool]]:
    """(fact, the literals compared with it) for `fact == 'x'`, `'x' == fact`, `fact in [...]`, `'x' in fact`."""
    def literals(node: nodes.Node) -> list[Any] | None:
        if isinstance(node, nodes.Const):
            return [node.value]
        if isinstance(node, (nodes.List, nodes.Tuple)) and all(isinstance(i, nodes.Const) for i in node.items):
            return [i.value for i in node.items]
        return None

    def fact(node: nodes.Node) -> str | None:
        path = fact_path(node)
        return None if path is None else ".".join(map(str, path))

    pairs = []
    if op in ("eq", "ne"):
        for a, b in ((left, right), (right, left)):
            if fact(a) and isinstance(b, nodes.Const):
                pairs.append((fact(a), [b.value], False))
    elif op in ("in", "notin"):
        if fact(left) and literals(right) is not None:
            pairs.append((fact(left), literals(right), False))
        elif fact(right) and isinstance(left, nodes.Const):
            pairs.append((fact(right), [left.value], True))
    return pairs


def _never(fact: str, value: Any, values: Collection[Any], rule: Rule, contains: bool) -> str:
    shown = ", ".join(repr(v) for v in values if v is not None) + (", or none (not given)" if None in values else "")
    text = "none" if value is None else repr(value)
    near = [v for v in values if isinstance(v, str) and isinstance(value, str) and v.lower() == value.lower()]
    near = near or difflib.get_close_matches(str(value), [v for v in values if isinstance(v, str)], n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    verb = "never contains" if contains else "is never"
    return f"{fact} {verb} {text}: its values are {shown}{hint} (in the rule {rule.text!r})"

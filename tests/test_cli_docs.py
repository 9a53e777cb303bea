"""Every command of the CLI has help text with an example and is documented in the README and docs/."""

from __future__ import annotations

import argparse
import shlex

import pytest

from generator.cli import build_parser
from tests.conftest import ROOT


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_there_are_commands():
    assert {"build", "check", "explain", "new", "import", "serve", "merge", "email"} <= set(commands())


@pytest.mark.parametrize("name", sorted(commands()))
def test_command_has_help_and_an_example(name):
    parser = commands()[name]
    parent = build_parser()
    action = next(a for a in parent._actions if isinstance(a, argparse._SubParsersAction))
    summary = next(c.help for c in action._choices_actions if c.dest == name)
    assert summary and len(summary) > 10, f"`matchguide {name}` has no one-line help"
    assert parser.epilog and f"matchguide {name}" in parser.epilog, f"`matchguide {name} --help` shows no example"
    for option in parser._actions:
        if option.option_strings and option.dest != "help":
            assert option.help, f"`matchguide {name} {option.option_strings[0]}` has no help text"


@pytest.mark.parametrize("name", sorted(commands()))
def test_command_is_documented(name):
    readme = (ROOT / "README.md").read_text()
    docs = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    assert f"matchguide {name}" in readme, f"README.md does not list `matchguide {name}`"
    assert f"matchguide {name}" in docs, f"no page under docs/ explains `matchguide {name}`"


@pytest.mark.parametrize("name", sorted(commands()))
def test_each_help_shows_an_example_that_parses(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([name, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    example = " ".join(out.split("example: ", 1)[1].split())  # the help wraps long lines
    words = shlex.split(example.split(" (", 1)[0])  # serve's example ends with a note in brackets
    assert words[:2] == ["matchguide", name], example
    args = build_parser().parse_args(words[1:])  # a bad option or value would exit with code 2
    assert args.command == name and callable(args.func)
    given = {w.lstrip("-").replace("-", "_") for w in words if w.startswith("--")}
    assert all(getattr(args, option) not in (None, False) for option in given), (example, args)

"""`--help` of `fv` and of every subcommand lists each option exactly once (issue 16)."""

from __future__ import annotations

import argparse
import re

import pytest

from fvir.tools.fv import build_parser


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "fv"):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subparsers(sub, f"{prefix} {name}")


PARSERS = dict(_subparsers(build_parser()))


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_option_listed_once(command):
    parser = PARSERS[command]
    text = parser.format_help()
    usage_end = text.index("\n\n")  # the usage block names every flag once more, by design
    body = text[usage_end:]
    for action in parser._actions:
        for flag in action.option_strings:
            pattern = rf"^\s+(?:-\w(?: \S+)?, )?{re.escape(flag)}(?=[\s,=]|$)"
            listed = re.findall(pattern, body, re.M)
            assert len(listed) == 1, f"'{command} --help' lists {flag} {len(listed)} times"

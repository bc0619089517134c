r"""A linear-time check for string literals xDSL's lexer cannot end, run before xDSL parses text.

Why: xDSL 0.74's lexer matches a string literal with the regex
`"(?:[^"\\\n\v\f]+|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"`, whose nested quantifier backtracks
exponentially when the match fails (no closing quote on the line, or an escape it does not
know): the run of characters before the failure costs 2^n steps (24 characters: ~2 s, and a
declarative-format op lexes a type more than once). A stray quote in `fv-opt` input or in a
package's host IR would hang the tool instead of failing.

1. Scan the text left to right for comments (`//` to the end of the line), string literals in
   the same language as xDSL's regex but written without the nested quantifier (each character
   matches one way, so the scan is linear), and lone quotes.
2. The first lone quote is a literal xDSL's regex would fail on: report its line and column,
   so the caller raises a one-line error instead of calling the parser.
"""

from __future__ import annotations

import re

_TOKENS = re.compile(r'//[^\n]*|"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"|"')


def unterminated_string(text: str) -> tuple[int, int] | None:
    """(line, column), 1-based, of the first string literal xDSL's lexer cannot end, or None."""
    if '"' not in text:
        return None
    for match in _TOKENS.finditer(text):
        if match.group() == '"':
            start = match.start()
            line = text.count("\n", 0, start) + 1
            return line, start - (text.rfind("\n", 0, start) + 1) + 1
    return None

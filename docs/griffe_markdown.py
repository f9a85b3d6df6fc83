"""Griffe extension: docstrings written for ``help()`` read as Markdown on the docs site.

The docstrings are plain text with two habits Markdown would garble:

- Sphinx roles, ``:func:`octopus_nb.control.configure_webhooks``` or ``:meth:`counts```: Markdown
  would show the role's name as text. Each becomes an optional autorefs reference: a link when
  the target has its entry in the API reference, plain code when it has none (a private module,
  say), never a broken link. ``~`` keeps only the last name as the text, as in Sphinx.
- ``>>>`` examples, which Markdown reads as nested quotes: each example, up to the next blank
  line, becomes a ``pycon`` code block, without its ``# doctest:`` flags.

Only the text given to mkdocstrings changes; the source, ``help()`` and doctest are untouched.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|meth|class|exc|attr|data|mod|obj):`(~?)([\w.]+)`")
EXAMPLE = re.compile(r"^([ \t]*)>>> .*?(?=\n[ \t]*\n|\Z)", re.MULTILINE | re.DOTALL)
DOCTEST_FLAG = re.compile(r"[ \t]*# doctest:[^\n]*")


def _identifier(obj: griffe.Object, name: str) -> str:
    """The full path a role's target names: as written if dotted, else looked up from ``obj`` outwards."""
    if "." in name:
        return name
    scope = obj if isinstance(obj, (griffe.Class, griffe.Module)) else obj.parent
    while scope is not None:
        if name in scope.members:
            member = scope.members[name]
            return member.target_path if member.is_alias else member.path
        scope = scope.parent
    return name


def _fence(match: re.Match) -> str:
    indent = match[1]
    return f"{indent}```pycon\n{DOCTEST_FLAG.sub('', match[0])}\n{indent}```"


class DocstringMarkdown(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        # once the whole package is loaded, so a bare name can be looked up among all the members
        self._rewrite(pkg)

    def _rewrite(self, obj: griffe.Object) -> None:
        if obj.docstring is not None:
            def autoref(match: re.Match) -> str:
                identifier = _identifier(obj, match[2])
                title = identifier.rsplit(".", 1)[-1] if match[1] else match[2]
                return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'

            text, pieces, last = obj.docstring.value, [], 0
            for example in EXAMPLE.finditer(text):  # roles in the prose only, examples as written
                pieces += [ROLE.sub(autoref, text[last:example.start()]), _fence(example)]
                last = example.end()
            obj.docstring.value = "".join(pieces + [ROLE.sub(autoref, text[last:])])
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite(member)

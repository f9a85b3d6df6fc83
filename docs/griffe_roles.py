"""Griffe extension: the docstrings' Sphinx roles become cross-references on the docs site.

The docstrings are written for ``help()`` and editors, with Sphinx roles such as
``:func:`octopus_nb.control.configure_webhooks``` or ``:meth:`counts```. Markdown would show the
role's name as text, so each role becomes an optional autorefs reference: a link when the target
has its entry in the API reference, plain code when it has none (a private module, say), never
a broken link. ``~`` keeps only the last name as the text, as in Sphinx.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|meth|class|exc|attr|data|mod|obj):`(~?)([\w.]+)`")


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


class SphinxRoles(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        # once the whole package is loaded, so a bare name can be looked up among all the members
        self._rewrite(pkg)

    def _rewrite(self, obj: griffe.Object) -> None:
        if obj.docstring is not None:
            def autoref(match: re.Match) -> str:
                identifier = _identifier(obj, match[2])
                title = identifier.rsplit(".", 1)[-1] if match[1] else match[2]
                return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'

            obj.docstring.value = ROLE.sub(autoref, obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite(member)

"""``Recording``: what a server answered to the probe scenario, as a stable, diffable JSON file.

A recording holds no secret (the key is never part of an exchange) and no made-up value (see
:mod:`octopus_nb.conformance.placeholders`), so it can be committed, shared and compared byte for
byte: two servers that behave alike give the same file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .placeholders import replace_made_up_values

#: The ``format`` field that marks a file as a recording; bump the number when the layout changes.
FORMAT = "octopus-nb conformance recording 1"
#: Response headers kept: whether ``Cko-Request-Id`` came (its value is always new), and two values.
HEADERS = ("Cko-Request-Id", "Cko-Version", "Content-Type")


class NotARecordingError(ValueError):
    """A file or document is not a conformance recording; the message says what is wrong."""


@dataclass(frozen=True)
class RecordedStep:
    """One exchange of the probe scenario, made-up values already replaced by placeholders."""

    #: the scenario's name for it (``confirm_again``): how two recordings are matched up
    step: str
    method: str
    #: the path with ids as ``{setup_id}``, ``{payment_id}``
    path: str
    #: ``<idempotency_key:N>`` for POST/PUT (a replay shows the same N), else None
    idempotency_key: str | None
    request_body: Any
    status: int
    #: ``Cko-Request-Id`` as a bool (present or not), ``Cko-Version`` and ``Content-Type`` when sent
    headers: dict
    #: the JSON body, the text of a non-JSON body, or None when empty
    response_body: Any


#: The fields in which made-up values are looked for (the step's name and path template hold none).
_DATA_FIELDS = ("idempotency_key", "request_body", "status", "headers", "response_body")
_FIELDS = tuple(f.name for f in fields(RecordedStep))


class Recording:
    """The exchanges of one probe run, in order; ``save()`` / ``load()`` as JSON.

    >>> recording = octopus_nb.conformance.record(client)  # doctest: +SKIP
    >>> recording.save("embedded.json")                      # doctest: +SKIP
    """

    def __init__(self, steps: Iterable[RecordedStep], *, target: str = "custom"):
        #: the exchanges, in the order they were made
        self.steps = tuple(steps)
        #: what was recorded: "embedded", "sandbox", "production" or "custom" (never a host or key)
        self.target = target

    @classmethod
    def from_exchanges(cls, exchanges: Iterable[Mapping[str, Any]], *, target: str, base_url: str) -> Recording:
        """A recording of raw exchanges (dicts with :class:`RecordedStep`'s fields), placeholders applied."""
        exchanges = list(exchanges)
        scrubbed = replace_made_up_values(({name: e[name] for name in _DATA_FIELDS} for e in exchanges), base_url)
        return cls((RecordedStep(**{**exchange, **data}) for exchange, data in zip(exchanges, scrubbed)), target=target)

    def __iter__(self) -> Iterator[RecordedStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recording) and (self.target, self.steps) == (other.target, other.steps)

    def step(self, name: str) -> RecordedStep:
        """The exchange called ``name``; KeyError if the scenario did not reach it."""
        for step in self.steps:
            if step.step == name:
                return step
        raise KeyError(name)

    def to_json(self) -> str:
        """The file's text: keys sorted, indent 2, trailing newline, so equal behaviour is equal bytes."""
        document = {"format": FORMAT, "target": self.target, "steps": [asdict(step) for step in self.steps]}
        return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Recording:
        """Parse :meth:`to_json`'s text.

        Raises:
            NotARecordingError: not JSON, or not shaped like a recording.
        """
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise NotARecordingError(f"not JSON ({exc})") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise NotARecordingError(f'no "format": "{FORMAT}" field: not a conformance recording')
        steps = document.get("steps")
        if not isinstance(steps, list) or not all(isinstance(s, dict) and set(s) == set(_FIELDS) for s in steps):
            raise NotARecordingError(f'"steps" must be a list of objects with the fields {", ".join(_FIELDS)}')
        return cls((RecordedStep(**step) for step in steps), target=str(document.get("target", "custom")))

    def save(self, path: str | Path) -> Path:
        """Write the recording to ``path`` (UTF-8); return the path."""
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a recording written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            NotARecordingError: the file is not a recording.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise NotARecordingError(f"not UTF-8 text ({exc.reason})") from exc
        return cls.from_json(text)

    def __repr__(self) -> str:
        return f"<Recording of {len(self)} exchanges from {self.target}>"

"""Conformance: record what a server answers to one fixed probe scenario, and compare recordings.

The scenario uses no control route, so the same code records the embedded sandbox, a sandbox
process or Checkout.com's own sandbox; comparing the recordings shows where the embedded sandbox
departs from the real API (or where a change moved the wire). See docs/conformance.md.

>>> recording = record(octopus_nb.connect(seed=7))                    # doctest: +SKIP
>>> compare(Recording.load("tests/golden/embedded.json"), recording)  # doctest: +SKIP
"""

from .compare import compare
from .probe import record
from .recording import NotARecordingError, RecordedStep, Recording

__all__ = ["NotARecordingError", "RecordedStep", "Recording", "compare", "record"]

"""An application a step leaves out, and why: rejecting and planning both report them.

A module of its own so that `fairwell reject` reports what it skipped without loading the
letter composer that planning needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from fairwell.ports import ApplicantView


@dataclass(frozen=True, slots=True)
class Skipped:
    view: ApplicantView
    reason: str

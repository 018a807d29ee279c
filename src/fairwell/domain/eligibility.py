"""Who may receive which letter. Checked when deciding, when planning and again at send time."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fairwell.domain.model import Application, LetterKind, Stage


class SkipReason(StrEnum):
    """Why a person gets no letter. The values are what recruiters read."""

    HIRED = "hired"
    OFFER = "holding an offer"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined our offer"
    ALREADY_REJECTED = "already rejected before import"
    ALREADY_WRITTEN = "already written to"
    ALREADY_DECIDED = "already decided, letter pending"
    ERASED = "erased"
    SUPPRESSED = "address suppressed"


_BLOCKING_STAGES = {
    Stage.HIRED: SkipReason.HIRED,
    Stage.OFFER: SkipReason.OFFER,
    Stage.WITHDRAWN: SkipReason.WITHDRAWN,
    Stage.DECLINED: SkipReason.DECLINED,
    Stage.REJECTED: SkipReason.ALREADY_REJECTED,
}
# Stages at which no one is rejected.
REJECTION_BLOCKING_STAGES = frozenset(_BLOCKING_STAGES)
# Stages at which a decided application gets no letter (a rejected stage still gets one).
LETTER_BLOCKING_STAGES = frozenset(
    stage for stage in _BLOCKING_STAGES if stage is not Stage.REJECTED
)


@dataclass(frozen=True, slots=True)
class History:
    """What has already happened to one application, as far as letters are concerned."""

    erased: bool = False
    suppressed: bool = False
    has_active_decision: bool = False
    letter_sent: bool = False


def rejection_blocked_by(application: Application, history: History) -> SkipReason | None:
    """Return why this application must not be rejected now, or None when it may be."""
    if history.erased:
        return SkipReason.ERASED
    stage_reason = _BLOCKING_STAGES.get(application.stage)
    if stage_reason is not None:
        return stage_reason
    if history.letter_sent:
        return SkipReason.ALREADY_WRITTEN
    if history.has_active_decision:
        return SkipReason.ALREADY_DECIDED
    return None


def letter_blocked_by(application: Application, history: History) -> SkipReason | None:
    """Return why a decided application must get no letter now, or None when it may."""
    if history.erased:
        return SkipReason.ERASED
    if history.suppressed:
        return SkipReason.SUPPRESSED
    if history.letter_sent:
        return SkipReason.ALREADY_WRITTEN
    if application.stage in LETTER_BLOCKING_STAGES:
        return _BLOCKING_STAGES[application.stage]
    return None


def letter_kind_for(application: Application) -> LetterKind:
    """A person who never applied must never be thanked for applying."""
    if application.never_applied:
        return LetterKind.REFERRAL_CLOSED
    return LetterKind.REJECTION

"""Webhooks from an ATS: record the decision or the stage change; never send anything.

A verified event (integrations/<vendor>/webhooks.py checked the signature) is recorded once
per delivery: a replay finds its delivery recorded and changes nothing. For an application
Fairwell pulled, a stage change or a hire moves the application's stage, and a rejection
marks it rejected (or withdrawn, when the candidate withdrew) and records a Fairwell decision
when the ATS's reason maps to exactly one reason code. A letter still waits for the plan and
its confirmation: nothing here queues or sends one. An event for a job Fairwell never pulled,
or an application it does not know, is recorded and not acted on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fairwell.domain.model import Stage
from fairwell.ports import Clock
from fairwell.ports.ats import AtsEvent, AtsStore, EventChange, EventFacts, EventKind
from fairwell.services.ats_reasons import ReasonMap
from fairwell.services.export_profiles import Profile

# Turns the ids some vendors send (Lever's stage and archive reason ids) into names.
NameLookup = Callable[[AtsEvent], AtsEvent]


@dataclass(frozen=True, slots=True)
class Received:
    """What became of a webhook: ``duplicate`` when the delivery was recorded before."""

    outcome: str
    detail: str
    duplicate: bool


def receive(
    store: AtsStore,
    event: AtsEvent,
    profile: Profile,
    reasons: ReasonMap,
    clock: Clock,
    names: NameLookup | None = None,
) -> Received:
    """Record ``event`` once and apply what it means, in one transaction."""
    if names is not None and event.kind is not EventKind.OTHER:
        event = names(event)
    change = store.apply_event(
        event, lambda facts: decide(event, facts, profile, reasons), clock.now()
    )
    if change is None:
        return Received("duplicate", "this delivery was recorded before", duplicate=True)
    return Received(change.outcome, change.detail, duplicate=False)


def decide(event: AtsEvent, facts: EventFacts, profile: Profile, reasons: ReasonMap) -> EventChange:
    """The change an event asks for, given what Fairwell knows. Pure."""
    if event.kind is EventKind.OTHER:
        return EventChange("ignored", f"{event.event} is not acted on")
    if facts.application_id is None:
        if not facts.job_known:
            job = event.ats_job_id or "?"
            return EventChange("unknown-job", f"{event.vendor} job {job} was never pulled")
        return EventChange("unknown-application", "not pulled yet; pull the job again")
    if not event.resolved:
        return EventChange(
            "unresolved", f"{event.vendor} could not name the stage or reason; not applied"
        )
    if event.kind is EventKind.HIRED:
        return EventChange("stage-changed", "hired", stage=Stage.HIRED)
    if event.kind is EventKind.STAGE:
        return _stage_change(event, profile)
    return _rejection(event, facts, profile, reasons)


def _stage_change(event: AtsEvent, profile: Profile) -> EventChange:
    name = event.stage_name or ""
    stage = profile.stages.get(name.casefold())
    if stage is None:
        return EventChange(
            "unknown-stage", f"stage {name!r} is not in the {profile.name} profile; not applied"
        )
    return EventChange("stage-changed", name, stage=stage)


def _rejection(
    event: AtsEvent, facts: EventFacts, profile: Profile, reasons: ReasonMap
) -> EventChange:
    status = (event.status or "").casefold()
    stage = profile.statuses.get(status) or profile.unknown_status or Stage.REJECTED
    if stage is Stage.WITHDRAWN:
        return EventChange("stage-changed", "the candidate withdrew", stage=stage)
    if facts.decided:
        return EventChange("already-decided", "Fairwell has a decision already", stage=stage)
    code = reasons.code_for(event.vendor, event.reason) if event.reason else None
    if code is None:
        return EventChange(
            "stage-changed",
            f"reason {event.reason or '(none)'!s} maps to no single reason code; reject in "
            "Fairwell to choose one",
            stage=stage,
        )
    return EventChange("decision-recorded", code, stage=stage, decision_code=code)

"""The seams between the use cases and the outside world (typing.Protocol), one module per seam.

Services depend on these, never on SQLAlchemy, smtplib or the wall clock directly, so the
same delivery code runs under the embedded worker, a Celery worker and the tests. Each module
holds one seam's protocols and the plain records that cross it: ``transport``, ``clock``,
``templates``, ``audit``, ``feedback``, ``pipeline``, ``outbox``, ``users``, ``interviews``,
``portal``, ``privacy``, ``semantic``, ``inbox``, ``ats`` and ``webhooks``; ``store`` is the
whole of what SqlStore served, for the code that still takes it at once.

The names of every seam but ``ats`` and ``webhooks`` are re-exported here, so
``from fairwell.ports import X`` keeps working; new code imports from the seam's module.
They are imported when first asked for: a command that needs one seam does not load them
all (the guard's rules come with the outbox seam).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The names as the type checker sees them (``X as X``: re-exported).
    from fairwell.ports.audit import AuditEntry as AuditEntry
    from fairwell.ports.audit import AuditLog as AuditLog
    from fairwell.ports.clock import Clock as Clock
    from fairwell.ports.feedback import DraftText as DraftText
    from fairwell.ports.feedback import FeedbackRecord as FeedbackRecord
    from fairwell.ports.feedback import FeedbackStore as FeedbackStore
    from fairwell.ports.feedback import RequestRecord as RequestRecord
    from fairwell.ports.feedback import RequestStore as RequestStore
    from fairwell.ports.feedback import RubricRow as RubricRow
    from fairwell.ports.feedback import ScorecardEntry as ScorecardEntry
    from fairwell.ports.feedback import ScorecardInput as ScorecardInput
    from fairwell.ports.feedback import WordingCheck as WordingCheck
    from fairwell.ports.feedback import WordingFinding as WordingFinding
    from fairwell.ports.inbox import ApplicationOnFile as ApplicationOnFile
    from fairwell.ports.inbox import BounceRecord as BounceRecord
    from fairwell.ports.inbox import InboundRecord as InboundRecord
    from fairwell.ports.inbox import InboundReply as InboundReply
    from fairwell.ports.inbox import Inbox as Inbox
    from fairwell.ports.inbox import InboxStore as InboxStore
    from fairwell.ports.inbox import InboxUnavailable as InboxUnavailable
    from fairwell.ports.inbox import LetterOnFile as LetterOnFile
    from fairwell.ports.inbox import MailThread as MailThread
    from fairwell.ports.inbox import ReceivedMail as ReceivedMail
    from fairwell.ports.inbox import ReplyOutcome as ReplyOutcome
    from fairwell.ports.inbox import StoredLetter as StoredLetter
    from fairwell.ports.inbox import SuppressionRecord as SuppressionRecord
    from fairwell.ports.inbox import SuppressionStore as SuppressionStore
    from fairwell.ports.interviews import AssignedInterview as AssignedInterview
    from fairwell.ports.interviews import InterviewStore as InterviewStore
    from fairwell.ports.interviews import InterviewSubject as InterviewSubject
    from fairwell.ports.outbox import BatchControls as BatchControls
    from fairwell.ports.outbox import Batches as Batches
    from fairwell.ports.outbox import BatchSummary as BatchSummary
    from fairwell.ports.outbox import ClaimedLetter as ClaimedLetter
    from fairwell.ports.outbox import Claims as Claims
    from fairwell.ports.outbox import NewLetter as NewLetter
    from fairwell.ports.outbox import OutboxControls as OutboxControls
    from fairwell.ports.outbox import OutboxReads as OutboxReads
    from fairwell.ports.outbox import OutboxRow as OutboxRow
    from fairwell.ports.outbox import OutboxStatus as OutboxStatus
    from fairwell.ports.outbox import OutboxStore as OutboxStore
    from fairwell.ports.outbox import Outcome as Outcome
    from fairwell.ports.outbox import SendSlots as SendSlots
    from fairwell.ports.pipeline import ApplicantFacts as ApplicantFacts
    from fairwell.ports.pipeline import ApplicantFilter as ApplicantFilter
    from fairwell.ports.pipeline import ApplicantPage as ApplicantPage
    from fairwell.ports.pipeline import ApplicantRecords as ApplicantRecords
    from fairwell.ports.pipeline import ApplicantView as ApplicantView
    from fairwell.ports.pipeline import AssignmentFacts as AssignmentFacts
    from fairwell.ports.pipeline import DecisionFacts as DecisionFacts
    from fairwell.ports.pipeline import ImportCounts as ImportCounts
    from fairwell.ports.pipeline import InterviewedRecord as InterviewedRecord
    from fairwell.ports.pipeline import JobSummary as JobSummary
    from fairwell.ports.pipeline import LetterFacts as LetterFacts
    from fairwell.ports.pipeline import Notices as Notices
    from fairwell.ports.pipeline import NoticeStore as NoticeStore
    from fairwell.ports.pipeline import PipelineStore as PipelineStore
    from fairwell.ports.pipeline import RequestFacts as RequestFacts
    from fairwell.ports.pipeline import StatusLetterStore as StatusLetterStore
    from fairwell.ports.pipeline import StoredMerge as StoredMerge
    from fairwell.ports.pipeline import choice_json as choice_json
    from fairwell.ports.portal import ConsentRecord as ConsentRecord
    from fairwell.ports.portal import PortalApplication as PortalApplication
    from fairwell.ports.portal import PortalStore as PortalStore
    from fairwell.ports.privacy import HoldRecord as HoldRecord
    from fairwell.ports.privacy import PrivacyRequestRecord as PrivacyRequestRecord
    from fairwell.ports.privacy import PrivacyStore as PrivacyStore
    from fairwell.ports.privacy import RetentionRow as RetentionRow
    from fairwell.ports.privacy import RetentionStore as RetentionStore
    from fairwell.ports.privacy import RosterChanges as RosterChanges
    from fairwell.ports.privacy import RosterStore as RosterStore
    from fairwell.ports.semantic import SimilarityModel as SimilarityModel
    from fairwell.ports.store import Store as Store
    from fairwell.ports.templates import LetterOverrides as LetterOverrides
    from fairwell.ports.templates import LetterSettingsStore as LetterSettingsStore
    from fairwell.ports.templates import OverrideRecord as OverrideRecord
    from fairwell.ports.templates import ReasonWordings as ReasonWordings
    from fairwell.ports.templates import RenderedText as RenderedText
    from fairwell.ports.templates import TemplateOverrides as TemplateOverrides
    from fairwell.ports.templates import TemplateSource as TemplateSource
    from fairwell.ports.transport import DeliveryError as DeliveryError
    from fairwell.ports.transport import PermanentDeliveryError as PermanentDeliveryError
    from fairwell.ports.transport import StreamingTransport as StreamingTransport
    from fairwell.ports.transport import TransientDeliveryError as TransientDeliveryError
    from fairwell.ports.transport import Transport as Transport
    from fairwell.ports.users import JobManagers as JobManagers
    from fairwell.ports.users import UserStore as UserStore

# Each re-exported name and the seam module that defines it.
_SEAMS: dict[str, str] = {
    "ApplicantFacts": "fairwell.ports.pipeline",
    "ApplicantFilter": "fairwell.ports.pipeline",
    "ApplicantPage": "fairwell.ports.pipeline",
    "ApplicantRecords": "fairwell.ports.pipeline",
    "ApplicantView": "fairwell.ports.pipeline",
    "ApplicationOnFile": "fairwell.ports.inbox",
    "AssignedInterview": "fairwell.ports.interviews",
    "AssignmentFacts": "fairwell.ports.pipeline",
    "AuditEntry": "fairwell.ports.audit",
    "AuditLog": "fairwell.ports.audit",
    "BatchControls": "fairwell.ports.outbox",
    "BatchSummary": "fairwell.ports.outbox",
    "Batches": "fairwell.ports.outbox",
    "BounceRecord": "fairwell.ports.inbox",
    "ClaimedLetter": "fairwell.ports.outbox",
    "Claims": "fairwell.ports.outbox",
    "Clock": "fairwell.ports.clock",
    "ConsentRecord": "fairwell.ports.portal",
    "DecisionFacts": "fairwell.ports.pipeline",
    "DeliveryError": "fairwell.ports.transport",
    "DraftText": "fairwell.ports.feedback",
    "FeedbackRecord": "fairwell.ports.feedback",
    "FeedbackStore": "fairwell.ports.feedback",
    "HoldRecord": "fairwell.ports.privacy",
    "ImportCounts": "fairwell.ports.pipeline",
    "InboundRecord": "fairwell.ports.inbox",
    "InboundReply": "fairwell.ports.inbox",
    "Inbox": "fairwell.ports.inbox",
    "InboxStore": "fairwell.ports.inbox",
    "InboxUnavailable": "fairwell.ports.inbox",
    "InterviewStore": "fairwell.ports.interviews",
    "InterviewSubject": "fairwell.ports.interviews",
    "InterviewedRecord": "fairwell.ports.pipeline",
    "JobManagers": "fairwell.ports.users",
    "JobSummary": "fairwell.ports.pipeline",
    "LetterFacts": "fairwell.ports.pipeline",
    "LetterOnFile": "fairwell.ports.inbox",
    "LetterOverrides": "fairwell.ports.templates",
    "LetterSettingsStore": "fairwell.ports.templates",
    "MailThread": "fairwell.ports.inbox",
    "NewLetter": "fairwell.ports.outbox",
    "NoticeStore": "fairwell.ports.pipeline",
    "Notices": "fairwell.ports.pipeline",
    "OutboxControls": "fairwell.ports.outbox",
    "OutboxReads": "fairwell.ports.outbox",
    "OutboxRow": "fairwell.ports.outbox",
    "OutboxStatus": "fairwell.ports.outbox",
    "OutboxStore": "fairwell.ports.outbox",
    "Outcome": "fairwell.ports.outbox",
    "OverrideRecord": "fairwell.ports.templates",
    "PermanentDeliveryError": "fairwell.ports.transport",
    "PipelineStore": "fairwell.ports.pipeline",
    "PortalApplication": "fairwell.ports.portal",
    "PortalStore": "fairwell.ports.portal",
    "PrivacyRequestRecord": "fairwell.ports.privacy",
    "PrivacyStore": "fairwell.ports.privacy",
    "ReasonWordings": "fairwell.ports.templates",
    "ReceivedMail": "fairwell.ports.inbox",
    "RenderedText": "fairwell.ports.templates",
    "ReplyOutcome": "fairwell.ports.inbox",
    "RequestFacts": "fairwell.ports.pipeline",
    "RequestRecord": "fairwell.ports.feedback",
    "RequestStore": "fairwell.ports.feedback",
    "RetentionRow": "fairwell.ports.privacy",
    "RetentionStore": "fairwell.ports.privacy",
    "RosterChanges": "fairwell.ports.privacy",
    "RosterStore": "fairwell.ports.privacy",
    "RubricRow": "fairwell.ports.feedback",
    "ScorecardEntry": "fairwell.ports.feedback",
    "ScorecardInput": "fairwell.ports.feedback",
    "SendSlots": "fairwell.ports.outbox",
    "SimilarityModel": "fairwell.ports.semantic",
    "StatusLetterStore": "fairwell.ports.pipeline",
    "Store": "fairwell.ports.store",
    "StoredLetter": "fairwell.ports.inbox",
    "StoredMerge": "fairwell.ports.pipeline",
    "StreamingTransport": "fairwell.ports.transport",
    "SuppressionRecord": "fairwell.ports.inbox",
    "SuppressionStore": "fairwell.ports.inbox",
    "TemplateOverrides": "fairwell.ports.templates",
    "TemplateSource": "fairwell.ports.templates",
    "TransientDeliveryError": "fairwell.ports.transport",
    "Transport": "fairwell.ports.transport",
    "UserStore": "fairwell.ports.users",
    "WordingCheck": "fairwell.ports.feedback",
    "WordingFinding": "fairwell.ports.feedback",
    "choice_json": "fairwell.ports.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _SEAMS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # asked once, then a plain attribute
    return value

"""The one composition root: every store, the transport factory and the checks, from the settings.

Backends are chosen here by configuration, never by editing code elsewhere. The web app, the
CLI, the workers and the demo ask the :class:`Runtime` for what they need; none of them
builds a store or a transport. Each store is built on first use and typed by its port, so a
command imports only the storage modules it touches (`fairwell jobs` never loads the ATS
integrations); the wording and template checks are built once per process.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from fairwell.config import SemanticMode, Settings
    from fairwell.delivery.dkim import DkimSigner
    from fairwell.domain.compliance import Linter
    from fairwell.ports.ats import AtsConnector, AtsStore, WebhookReceiver
    from fairwell.ports.audit import AuditLog
    from fairwell.ports.clock import Clock
    from fairwell.ports.feedback import FeedbackStore, RequestStore, WordingCheck, WordingFinding
    from fairwell.ports.inbox import Inbox, InboxStore, SuppressionStore
    from fairwell.ports.interviews import InterviewStore
    from fairwell.ports.outbox import BatchControls, OutboxStore, SendSlots
    from fairwell.ports.pipeline import ApplicantRecords, Notices, PipelineStore
    from fairwell.ports.portal import PortalStore, RenewalStore
    from fairwell.ports.privacy import PrivacyStore, RetentionStore, RosterStore
    from fairwell.ports.rediscovery import RediscoveryStore
    from fairwell.ports.store import Store
    from fairwell.ports.templates import LetterSettingsStore
    from fairwell.ports.transport import RelayProbe, Transport
    from fairwell.ports.users import JobManagers, SigninFailureStore, UserStore
    from fairwell.ports.webhooks import Poster, WebhookStore
    from fairwell.rendering import LetterTemplates
    from fairwell.services.access import Sessions, SigninLimiter
    from fairwell.services.ats_hooks import NameLookup
    from fairwell.services.ats_reasons import ReasonMap
    from fairwell.services.compose import Composer
    from fairwell.services.delivery import Deliverer, DeliveryPolicy, SharedRateLimit
    from fairwell.services.letter_settings import CachedOverrides, LetterEditor
    from fairwell.services.portal import PortalLinks
    from fairwell.services.rosters import RosterCache
    from fairwell.services.wording_classifier import Meaning
    from fairwell.storage.engine import PoolSettings

# Nothing but the standard library is imported here at start: every command and worker
# process opens a runtime, and each imports only the stores and services it uses.


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Runtime:
    """Everything a process needs, built from one Settings: stores by seam (each typed by its
    port), the letter templates and composer, the roster cache, the transport factory and the
    checks.

    Stores are built on first use; ``settings`` and ``clock`` may be replaced (tests move the
    clock). The templates, composer and roster are built, on first use, from the settings the
    runtime was opened with, as they always were; transports and checks read ``settings``
    when asked.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.clock: Clock = SystemClock()
        self.engine = engine
        self._opened_with = settings

    def close(self) -> None:
        self.engine.dispose()

    # --- stores, one per seam -------------------------------------------------------------

    @cached_property
    def store(self) -> Store:
        """Every seam of pipeline, outbox, roster and audit as one object, for the code that
        still takes them whole (the send path); new code takes the seam it needs."""
        from fairwell.storage.store import SqlStore

        return SqlStore(self.engine)

    @cached_property
    def pipeline(self) -> PipelineStore:
        from fairwell.storage.pipeline_store import SqlPipeline

        return SqlPipeline(self.engine)

    @cached_property
    def outbox(self) -> OutboxStore:
        from fairwell.storage.outbox_store import SqlOutbox

        return SqlOutbox(self.engine)

    @cached_property
    def audit_log(self) -> AuditLog:
        from fairwell.storage.audit_store import SqlAudit

        return SqlAudit(self.engine)

    @cached_property
    def roster_store(self) -> RosterStore:
        from fairwell.storage.roster_store import SqlRoster

        return SqlRoster(self.engine)

    @cached_property
    def batches(self) -> BatchControls:
        from fairwell.storage.batches_read import SqlBatches

        return SqlBatches(self.engine)

    @cached_property
    def send_slots(self) -> SendSlots:
        from fairwell.storage.rates_store import SqlSendSlots

        return SqlSendSlots(self.engine)

    @cached_property
    def feedback_store(self) -> FeedbackStore:
        from fairwell.storage.feedback_store import SqlFeedbackStore

        return SqlFeedbackStore(self.engine)

    @cached_property
    def request_store(self) -> RequestStore:
        from fairwell.storage.feedback_store import SqlRequestStore

        return SqlRequestStore(self.engine)

    @cached_property
    def letter_settings(self) -> LetterSettingsStore:
        from fairwell.storage.settings_store import SqlLetterSettings

        return SqlLetterSettings(self.engine)

    @cached_property
    def users(self) -> UserStore:
        from fairwell.storage.users_store import SqlUserStore

        return SqlUserStore(self.engine)

    @cached_property
    def job_managers(self) -> JobManagers:
        from fairwell.storage.users_store import SqlJobManagers

        return SqlJobManagers(self.engine)

    @cached_property
    def interviews(self) -> InterviewStore:
        from fairwell.storage.interviews_store import SqlInterviews

        return SqlInterviews(self.engine)

    @cached_property
    def applicant_records(self) -> ApplicantRecords:
        from fairwell.storage.applicant_store import SqlApplicantRecords

        return SqlApplicantRecords(self.engine)

    @cached_property
    def notices(self) -> Notices:
        from fairwell.storage.notices import SqlNotices

        return SqlNotices(self.engine)

    @cached_property
    def inbox_store(self) -> InboxStore:
        """Inbound mail and delivery reports (`fairwell inbox`, the request and outbox pages)."""
        from fairwell.storage.inbox_store import SqlInbox

        return SqlInbox(self.engine)

    @cached_property
    def suppressions(self) -> SuppressionStore:
        from fairwell.storage.inbox_store import SqlSuppressions

        return SqlSuppressions(self.engine)

    @cached_property
    def privacy(self) -> PrivacyStore:
        from fairwell.storage.erasure_store import SqlPrivacyStore

        return SqlPrivacyStore(self.engine)

    @cached_property
    def portal(self) -> PortalStore:
        from fairwell.storage.portal_store import SqlPortalStore

        return SqlPortalStore(self.engine)

    @cached_property
    def retention(self) -> RetentionStore:
        from fairwell.storage.retention_store import SqlRetentionStore

        return SqlRetentionStore(self.engine)

    @cached_property
    def renewals(self) -> RenewalStore:
        from fairwell.storage.renewal_store import SqlRenewals

        return SqlRenewals(self.engine)

    @cached_property
    def rediscovery(self) -> RediscoveryStore:
        from fairwell.storage.rediscovery_store import SqlRediscovery

        return SqlRediscovery(self.engine)

    @cached_property
    def signin_failures(self) -> SigninFailureStore:
        from fairwell.storage.web_access import SqlSigninFailures

        return SqlSigninFailures(self.engine)

    @cached_property
    def sessions(self) -> Sessions:
        """Web sessions and API tokens (services/access.py): the web app's and the CLI's."""
        from fairwell.services.access import Sessions
        from fairwell.storage.web_access import SqlApiTokens, SqlWebSessions

        return Sessions(SqlWebSessions(self.engine), SqlApiTokens(self.engine))

    @cached_property
    def signin_limiter(self) -> SigninLimiter:
        """The staff sign-in's limit on failures (the portal keeps its own, stricter ones)."""
        from fairwell.services.access import SigninLimiter

        return SigninLimiter(self.signin_failures)

    # Applicant tracking systems and outgoing webhooks: imported when first used, as most
    # commands never talk to an ATS and httpx costs start-up time.

    @cached_property
    def ats_store(self) -> AtsStore:
        from fairwell.storage.ats_store import SqlAtsStore

        return SqlAtsStore(self.engine)

    @cached_property
    def webhook_store(self) -> WebhookStore:
        from fairwell.storage.webhooks_store import SqlWebhookStore

        return SqlWebhookStore(self.engine)

    @cached_property
    def reason_map(self) -> ReasonMap:
        from fairwell.services.ats_reasons import load_reason_map

        return load_reason_map(self.settings.ats_reason_map)

    def ats_connector(self, vendor: str) -> AtsConnector:
        """The vendor's API client (FAIRWELL_<VENDOR>_*); ConfigurationError when unset."""
        from fairwell.integrations.registry import connect

        return connect(vendor, self.settings)

    def webhook_poster(self) -> Poster:
        from fairwell.integrations.http import HttpPoster

        return HttpPoster(self.settings.webhook_timeout_seconds)

    def webhook_receiver(self, vendor: str) -> WebhookReceiver | None:
        """How the vendor's signed webhooks are checked and read; None when it sends none."""
        from fairwell.integrations.registry import webhook_receiver

        return webhook_receiver(vendor)

    def ats_names(self, vendor: str) -> NameLookup | None:
        """How a vendor's webhook ids become names (Lever's), when the vendor is configured."""
        return ats_names(self.settings, vendor)

    # --- letters: templates, edits, roster, composer --------------------------------------

    @cached_property
    def overrides(self) -> CachedOverrides:
        """The wording and templates edited in the settings pages, shared by the templates and
        the composer; a save through ``letter_editor`` is seen by the next letter."""
        from fairwell.services.letter_settings import CachedOverrides

        return CachedOverrides(self.letter_settings)

    @cached_property
    def templates(self) -> LetterTemplates:
        from fairwell.rendering import LetterTemplates

        return LetterTemplates(self._opened_with.template_dir, self.overrides)

    @cached_property
    def rosters(self) -> RosterCache:
        """Everyone on file, the roster every letter of this process is guarded with (the
        composer's, the worker's, the template checks'): built once, then brought up to date."""
        from fairwell.services.rosters import RosterCache

        return RosterCache(self.roster_store)

    @cached_property
    def composer(self) -> Composer:
        from fairwell.services.compose import Composer, Sender
        from fairwell.services.retention import load_book
        from fairwell.services.scheduling import Scheduler

        settings = self._opened_with
        sender = Sender(
            settings.from_address,
            settings.from_name,
            settings.org_name,
            reply_to=settings.reply_address,
            signer=settings.sender_name,
            bounce_address=settings.bounce_address,
        )
        return Composer(
            self.templates,
            sender,
            _portal_links(settings),
            self.overrides,
            Scheduler.from_settings(settings),
            load_book(settings.retention_policies),
            name_referrer=settings.letters_name_referrer,
            rosters=self.rosters,
        )

    @cached_property
    def letter_editor(self) -> LetterEditor:
        """Edits of reason wording and templates, checked as the letters will be."""
        from fairwell.services.letter_settings import LetterEditor

        return LetterEditor(
            self.letter_settings,
            self.overrides,
            self.template_wording_check,
            self._opened_with.template_dir,
            self.rosters,
        )

    # --- the checks, built once per process -----------------------------------------------

    @property
    def wording_check(self) -> WordingCheck:
        """The wording check of feedback, notes for candidates, a job's wording and answers:
        the word lists and, when available, the meaning classifier."""
        return wording_check(self.settings)

    @property
    def template_wording_check(self) -> WordingCheck:
        """The wording check of templates and reason sentences: the word lists alone."""
        return wording_check(self.settings, meaning=False)

    def check_templates(self) -> None:
        """Every template renders and passes the wording check; raise TemplateCheckError.
        Checked again only after an edit (rendering.py keeps what it checked)."""
        self.templates.check(self.template_wording_check)

    # --- how letters leave, and how mail comes back ---------------------------------------

    def transport(self) -> Transport:
        """A new transport to the relay, as every letter goes (FAIRWELL_SMTP_*, DKIM)."""
        return smtp_transport(self.settings)

    def relay_probe(self) -> RelayProbe:
        """A connection to the relay made as the worker's, to test it; sends nothing."""
        from fairwell.delivery.smtp import SmtpTransport

        return SmtpTransport.from_settings(self.settings)

    def open_inbox(self) -> Inbox:
        """The mailbox replies and bounces arrive in; ConfigurationError when there is none."""
        return open_inbox(self.settings)

    @property
    def inbox_configured(self) -> bool:
        return inbox_configured(self.settings)


def pool_settings(settings: Settings) -> PoolSettings:
    from fairwell.storage.engine import PoolSettings

    return PoolSettings(
        size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        recycle_seconds=settings.db_pool_recycle_seconds,
    )


def open_runtime(settings: Settings) -> Runtime:
    from fairwell.storage.engine import make_engine

    return Runtime(settings, make_engine(settings.database_url, pool_settings(settings)))


def _portal_links(settings: Settings) -> PortalLinks | None:
    from fairwell.services.portal import PortalLinks

    if settings.portal_url is None or settings.secret_key is None:
        return None
    return PortalLinks(settings.portal_url, settings.secret_key)


def init_database(settings: Settings) -> None:
    # Alembic is imported only here: every other command, and every worker process, starts
    # faster without it.
    from fairwell.storage import migrate
    from fairwell.storage.engine import make_engine

    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    from fairwell.services.delivery import DeliveryPolicy

    return DeliveryPolicy(
        lease=timedelta(seconds=settings.lease_seconds),
        claim_batch=settings.claim_batch,
        commit_every=settings.commit_every,
        retry_base=timedelta(seconds=settings.retry_base_seconds),
        retry_deadline=timedelta(hours=settings.retry_deadline_hours),
        stop_batch_on_violation=settings.stop_batch_on_violation,
        relay_tries=settings.relay_tries,
    )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def make_deliverer(runtime: Runtime, rate: float | None = None) -> Deliverer:
    from fairwell.services.delivery import Deliverer, Pacer, SlowDown

    settings = runtime.settings
    return Deliverer(
        store=runtime.store,
        transport=runtime.transport(),
        clock=runtime.clock,
        owner=worker_name(),
        policy=delivery_policy(settings),
        pacer=Pacer(rate),
        rosters=runtime.rosters,
        rate_limit=shared_rate_limit(runtime),
        connections=settings.smtp_connections,
        slow_down=SlowDown(runtime.send_slots, settings.slow_down_seconds),
    )


def smtp_transport(settings: Settings) -> Transport:
    """The relay's transport: one session, or one per sending thread (FAIRWELL_SMTP_CONNECTIONS),
    each letter DKIM-signed on its way when FAIRWELL_DKIM_* is set."""
    from fairwell.delivery.dkim import signing
    from fairwell.delivery.sessions import SessionPerThread
    from fairwell.delivery.smtp import SmtpTransport

    signer = dkim_signer(settings)
    if settings.smtp_connections <= 1:
        return signing(SmtpTransport.from_settings(settings), signer)
    return SessionPerThread(lambda: signing(SmtpTransport.from_settings(settings), signer))


def dkim_signer(settings: Settings) -> DkimSigner | None:
    from fairwell.delivery.dkim import DkimSigner

    if not (settings.dkim_domain and settings.dkim_selector and settings.dkim_private_key_file):
        return None
    return DkimSigner(settings.dkim_domain, settings.dkim_selector, settings.dkim_private_key_file)


def open_inbox(settings: Settings) -> Inbox:
    """The inbox the operator configured (delivery/inbox.py); ConfigurationError when none."""
    from fairwell.delivery import inbox

    return inbox.open_inbox(settings)


def inbox_configured(settings: Settings) -> bool:
    from fairwell.delivery import inbox

    return inbox.inbox_configured(settings)


def shared_rate_limit(runtime: Runtime) -> SharedRateLimit | None:
    """The rates every worker keeps together (FAIRWELL_RATE_*), or None when unlimited."""
    from fairwell.services.delivery import SendRates, SharedRateLimit

    settings = runtime.settings
    rates = SendRates(
        overall=settings.rate_overall,
        per_domain=settings.rate_per_domain,
        slow_down_seconds=settings.slow_down_seconds,
    )
    if not rates.limited:
        return None
    return SharedRateLimit(runtime.send_slots, rates)


def wording_check(settings: Settings, *, meaning: bool = True) -> WordingChecker:
    """The wording check as the WordingCheck port, one per process for each kind.

    With ``meaning`` (feedback, notes for the candidate, a job's wording, answers to feedback
    requests) the meaning classifier runs beside the word lists when available; without it
    (letter templates and reason sentences, written once for every letter and reviewed when
    saved) the word lists alone. Built once for the same word lists and mode, then shared:
    a check built per request cost a plan page 50 ms and more."""
    from fairwell.config import SemanticMode

    mode = settings.wording_classifier if meaning else SemanticMode.OFF
    return _wording_checker(settings.lint_terms, mode)


@cache
def _wording_checker(lint_terms: Path | None, mode: SemanticMode) -> WordingChecker:
    return WordingChecker(lint_terms, mode)


class WordingChecker:
    """The compliance lint's word lists, one linter per language, and beside them the meaning
    classifier (services/wording_classifier.py) when the setting and the installed extras
    allow; both are built on first use. ``meaning_status`` says in plain words which ran."""

    def __init__(self, lint_terms: Path | None, mode: SemanticMode) -> None:
        self._lint_terms = lint_terms
        self._mode = mode
        self._linters: dict[str, Linter] = {}
        self._meaning: Meaning | None = None

    @property
    def meaning_status(self) -> str:
        return self._chosen().status

    def _chosen(self) -> Meaning:
        if self._meaning is None:
            from fairwell.services.wording_classifier import choose

            self._meaning = choose(self._mode)
        return self._meaning

    def _linter(self, locale: str) -> Linter:
        from fairwell.domain.compliance import SUPPORTED_LANGUAGES, Linter

        language = locale if locale in SUPPORTED_LANGUAGES else "en"
        if language not in self._linters:
            self._linters[language] = Linter.from_files(language, self._lint_terms)
        return self._linters[language]

    def __call__(
        self, text: str, locale: str, required_languages: Collection[str] = ()
    ) -> list[WordingFinding]:
        linter = self._linter(locale)
        found = linter.lint(text, required_languages)
        classifier = self._chosen().classifier
        if classifier is not None and text.strip():
            from fairwell.services.wording_classifier import meaning_findings

            found += meaning_findings(classifier, linter, text, required_languages, found)
        found.sort(key=lambda finding: (finding.span, finding.rule))
        from fairwell.ports.feedback import WordingFinding

        return [WordingFinding(f.rule, f.span, f.why, f.suggestion) for f in found]


def ats_names(settings: Settings, vendor: str) -> NameLookup | None:
    """How a vendor's webhook ids become names (Lever's), when the vendor is configured."""
    if vendor != "lever" or settings.lever_api_key is None:
        return None
    from fairwell.integrations.lever.connector import connect
    from fairwell.integrations.lever.webhooks import named
    from fairwell.ports.ats import AtsEvent

    def names(event: AtsEvent) -> AtsEvent:
        lever = connect(settings)
        try:
            return named(event, lever)
        finally:
            lever.close()

    return names

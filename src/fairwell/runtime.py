"""Wiring: build the store, templates, composer and transport from the settings.

Backends are chosen here by configuration, never by editing code elsewhere.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fairwell.config import SemanticMode, Settings
from fairwell.delivery.dkim import DkimSigner, signing
from fairwell.delivery.sessions import SessionPerThread
from fairwell.delivery.smtp import SmtpTransport
from fairwell.domain.compliance import SUPPORTED_LANGUAGES, Linter
from fairwell.ports import Clock, Transport, WordingFinding
from fairwell.rendering import LetterTemplates
from fairwell.services.compose import Composer, Sender
from fairwell.services.delivery import (
    Deliverer,
    DeliveryPolicy,
    Pacer,
    SendRates,
    SharedRateLimit,
    SlowDown,
)
from fairwell.services.letter_settings import CachedOverrides, LetterEditor
from fairwell.services.portal import PortalLinks
from fairwell.services.retention import load_book
from fairwell.services.rosters import RosterCache
from fairwell.services.scheduling import Scheduler
from fairwell.services.wording_classifier import Meaning, choose, meaning_findings
from fairwell.storage.engine import PoolSettings, make_engine
from fairwell.storage.feedback_store import SqlFeedbackStore, SqlRequestStore
from fairwell.storage.inbox_store import SqlInbox, SqlSuppressions
from fairwell.storage.rates_store import SqlSendSlots
from fairwell.storage.settings_store import SqlLetterSettings
from fairwell.storage.store import SqlStore
from fairwell.storage.users_store import SqlJobManagers, SqlUserStore

if TYPE_CHECKING:
    from fairwell.integrations.http import HttpPoster
    from fairwell.ports.ats import AtsConnector
    from fairwell.services.ats_hooks import NameLookup
    from fairwell.services.ats_reasons import ReasonMap
    from fairwell.storage.ats_store import SqlAtsStore
    from fairwell.storage.webhooks_store import SqlWebhookStore


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    store: SqlStore
    feedback_store: SqlFeedbackStore
    request_store: SqlRequestStore
    templates: LetterTemplates
    composer: Composer
    clock: Clock
    letter_settings: SqlLetterSettings
    # The wording and templates edited in the settings pages, shared by the templates and the
    # composer; a save through letter_editor() is seen by the next letter of this process.
    overrides: CachedOverrides
    # Everyone on file, the roster every letter of this process is guarded with (the
    # composer's, the worker's, the template checks'): built once, then brought up to date.
    rosters: RosterCache

    def close(self) -> None:
        self.store.engine.dispose()


def pool_settings(settings: Settings) -> PoolSettings:
    return PoolSettings(
        size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        recycle_seconds=settings.db_pool_recycle_seconds,
    )


def open_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url, pool_settings(settings))
    letter_settings = SqlLetterSettings(engine)
    overrides = CachedOverrides(letter_settings)
    templates = LetterTemplates(settings.template_dir, overrides)
    sender = Sender(
        settings.from_address,
        settings.from_name,
        settings.org_name,
        reply_to=settings.reply_address,
        signer=settings.sender_name,
        bounce_address=settings.bounce_address,
    )
    store = SqlStore(engine)
    rosters = RosterCache(store)
    return Runtime(
        settings,
        store,
        SqlFeedbackStore(engine),
        SqlRequestStore(engine),
        templates,
        Composer(
            templates,
            sender,
            _portal_links(settings),
            overrides,
            Scheduler.from_settings(settings),
            load_book(settings.retention_policies),
            name_referrer=settings.letters_name_referrer,
            rosters=rosters,
        ),
        SystemClock(),
        letter_settings,
        overrides,
        rosters,
    )


def letter_editor(runtime: Runtime) -> LetterEditor:
    """Edits of reason wording and templates, checked as the letters will be."""
    return LetterEditor(
        runtime.letter_settings,
        runtime.overrides,
        # Templates and reason sentences get the word lists: the meaning classifier is
        # trained on feedback, and reads a letter's greeting or closing as noise.
        wording_check(runtime.settings, meaning=False),
        runtime.settings.template_dir,
        runtime.rosters,
    )


def user_stores(runtime: Runtime) -> tuple[SqlUserStore, SqlJobManagers]:
    """The accounts and who manages which job: what a named command checks its user against."""
    return SqlUserStore(runtime.store.engine), SqlJobManagers(runtime.store.engine)


def _portal_links(settings: Settings) -> PortalLinks | None:
    if settings.portal_url is None or settings.secret_key is None:
        return None
    return PortalLinks(settings.portal_url, settings.secret_key)


def init_database(settings: Settings) -> None:
    # Alembic is imported only here: every other command, and every worker process, starts
    # faster without it.
    from fairwell.storage import migrate

    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        lease=timedelta(seconds=settings.lease_seconds),
        claim_batch=settings.claim_batch,
        commit_every=settings.commit_every,
        retry_base=timedelta(seconds=settings.retry_base_seconds),
        retry_deadline=timedelta(hours=settings.retry_deadline_hours),
        stop_batch_on_violation=settings.stop_batch_on_violation,
    )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def make_deliverer(runtime: Runtime, rate: float | None = None) -> Deliverer:
    settings = runtime.settings
    connections = settings.smtp_connections
    return Deliverer(
        store=runtime.store,
        transport=smtp_transport(settings),
        clock=runtime.clock,
        owner=worker_name(),
        policy=delivery_policy(settings),
        pacer=Pacer(rate),
        rosters=runtime.rosters,
        rate_limit=shared_rate_limit(runtime),
        connections=connections,
        slow_down=SlowDown(SqlSendSlots(runtime.store.engine), settings.slow_down_seconds),
    )


def smtp_transport(settings: Settings) -> Transport:
    """The relay's transport: one session, or one per sending thread (FAIRWELL_SMTP_CONNECTIONS),
    each letter DKIM-signed on its way when FAIRWELL_DKIM_* is set."""
    signer = dkim_signer(settings)
    if settings.smtp_connections <= 1:
        return signing(SmtpTransport.from_settings(settings), signer)
    return SessionPerThread(lambda: signing(SmtpTransport.from_settings(settings), signer))


def dkim_signer(settings: Settings) -> DkimSigner | None:
    if not (settings.dkim_domain and settings.dkim_selector and settings.dkim_private_key_file):
        return None
    return DkimSigner(settings.dkim_domain, settings.dkim_selector, settings.dkim_private_key_file)


def inbox_store(runtime: Runtime) -> SqlInbox:
    """Inbound mail and delivery reports (`fairwell inbox`, the request and outbox pages)."""
    return SqlInbox(runtime.store.engine)


def suppression_store(runtime: Runtime) -> SqlSuppressions:
    return SqlSuppressions(runtime.store.engine)


def shared_rate_limit(runtime: Runtime) -> SharedRateLimit | None:
    """The rates every worker keeps together (FAIRWELL_RATE_*), or None when unlimited."""
    settings = runtime.settings
    rates = SendRates(
        overall=settings.rate_overall,
        per_domain=settings.rate_per_domain,
        slow_down_seconds=settings.slow_down_seconds,
    )
    if not rates.limited:
        return None
    return SharedRateLimit(SqlSendSlots(runtime.store.engine), rates)


def wording_check(settings: Settings, *, meaning: bool = True) -> WordingChecker:
    """The wording check as the WordingCheck port.

    With ``meaning`` (feedback, notes for the candidate, a job's wording, answers to feedback
    requests) the meaning classifier runs beside the word lists when available; without it
    (letter templates and reason sentences, written once for every letter and reviewed when
    saved) the word lists alone."""
    return WordingChecker(settings, settings.wording_classifier if meaning else SemanticMode.OFF)


class WordingChecker:
    """The compliance lint's word lists, one linter per language, and beside them the meaning
    classifier (services/wording_classifier.py) when the setting and the installed extras
    allow; both are built on first use. ``meaning_status`` says in plain words which ran."""

    def __init__(self, settings: Settings, mode: SemanticMode) -> None:
        self._settings = settings
        self._mode = mode
        self._linters: dict[str, Linter] = {}
        self._meaning: Meaning | None = None

    @property
    def meaning_status(self) -> str:
        return self._chosen().status

    def _chosen(self) -> Meaning:
        if self._meaning is None:
            self._meaning = choose(self._mode)
        return self._meaning

    def _linter(self, locale: str) -> Linter:
        language = locale if locale in SUPPORTED_LANGUAGES else "en"
        if language not in self._linters:
            self._linters[language] = Linter.from_files(language, self._settings.lint_terms)
        return self._linters[language]

    def __call__(
        self, text: str, locale: str, required_languages: Collection[str] = ()
    ) -> list[WordingFinding]:
        linter = self._linter(locale)
        found = linter.lint(text, required_languages)
        classifier = self._chosen().classifier
        if classifier is not None and text.strip():
            found += meaning_findings(classifier, linter, text, required_languages, found)
        found.sort(key=lambda finding: (finding.span, finding.rule))
        return [WordingFinding(f.rule, f.span, f.why, f.suggestion) for f in found]


# --- applicant tracking systems and outgoing webhooks -----------------------------------------
# Imported when first used: most commands never talk to an ATS, and httpx costs start-up time.


def ats_store(runtime: Runtime) -> SqlAtsStore:
    from fairwell.storage.ats_store import SqlAtsStore

    return SqlAtsStore(runtime.store.engine)


def webhook_store(runtime: Runtime) -> SqlWebhookStore:
    from fairwell.storage.webhooks_store import SqlWebhookStore

    return SqlWebhookStore(runtime.store.engine)


def ats_connector(settings: Settings, vendor: str) -> AtsConnector:
    """The vendor's API client (FAIRWELL_<VENDOR>_*); ConfigurationError when unset."""
    from fairwell.integrations.registry import connect

    return connect(vendor, settings)


def reason_map(settings: Settings) -> ReasonMap:
    from fairwell.services.ats_reasons import load_reason_map

    return load_reason_map(settings.ats_reason_map)


def webhook_poster(settings: Settings) -> HttpPoster:
    from fairwell.integrations.http import HttpPoster

    return HttpPoster(settings.webhook_timeout_seconds)


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

"""Wiring: build the store, templates, composer and transport from the settings.

Backends are chosen here by configuration, never by editing code elsewhere.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fairwell.config import Settings
from fairwell.delivery.sessions import SessionPerThread
from fairwell.delivery.smtp import SmtpTransport
from fairwell.ports import Clock, Transport, WordingCheck, WordingFinding
from fairwell.rendering import LetterTemplates
from fairwell.services.compose import Composer, Sender
from fairwell.services.delivery import (
    Deliverer,
    DeliveryPolicy,
    Pacer,
    SendRates,
    SharedRateLimit,
)
from fairwell.services.letter_settings import CachedOverrides, LetterEditor
from fairwell.services.portal import PortalLinks
from fairwell.services.retention import load_book
from fairwell.services.rosters import RosterCache
from fairwell.services.scheduling import Scheduler
from fairwell.storage.engine import PoolSettings, make_engine
from fairwell.storage.feedback_store import SqlFeedbackStore, SqlRequestStore
from fairwell.storage.rates_store import SqlSendSlots
from fairwell.storage.settings_store import SqlLetterSettings
from fairwell.storage.store import SqlStore


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
    sender = Sender(settings.from_address, settings.from_name, settings.org_name)
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
            rosters,
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
        wording_check(runtime.settings),
        runtime.settings.template_dir,
        runtime.rosters,
    )


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
    )


def smtp_transport(settings: Settings) -> Transport:
    """The relay's transport: one session, or one per sending thread (FAIRWELL_SMTP_CONNECTIONS)."""
    if settings.smtp_connections <= 1:
        return SmtpTransport.from_settings(settings)
    return SessionPerThread(lambda: SmtpTransport.from_settings(settings))


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


def wording_check(settings: Settings) -> WordingCheck:
    """The compliance lint as the WordingCheck port, one linter per language, built lazily."""
    from fairwell.domain.compliance import SUPPORTED_LANGUAGES, Linter

    linters: dict[str, Linter] = {}

    def check(text: str, locale: str) -> list[WordingFinding]:
        language = locale if locale in SUPPORTED_LANGUAGES else "en"
        if language not in linters:
            linters[language] = Linter.from_files(language, settings.lint_terms)
        return [
            WordingFinding(f.rule, f.span, f.why, f.suggestion)
            for f in linters[language].lint(text)
        ]

    return check

"""Settings: one typed, frozen object read once from FAIRWELL_* variables and an optional TOML file.

Every default is documented here and listed in docs/operations.md. A secret may come from a
``FAIRWELL_<NAME>_FILE`` variable naming a file that holds it. Invalid settings raise
:class:`fairwell.errors.ConfigurationError`, which nothing swallows.
"""

from __future__ import annotations

import os
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from fairwell.errors import ConfigurationError

DeliveryEngine = Literal["embedded", "celery"]

# The broker URL is here because it may carry the broker's password.
SECRET_FIELDS = (
    "smtp_password",
    "secret_key",
    "broker_url",
    "imap_password",
    "greenhouse_client_secret",
    "greenhouse_webhook_secret",
    "lever_api_key",
    "lever_webhook_tokens",
)


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class SmtpAuth(StrEnum):
    """How Fairwell signs in to the relay: a password, or an OAuth 2.0 bearer token (XOAUTH2)."""

    PASSWORD = "password"  # noqa: S105 (the name of a method, not a secret)
    XOAUTH2 = "xoauth2"


class ImapSecurity(StrEnum):
    """IMAP always signs in, so it always uses TLS: implicit (port 993) or STARTTLS (143)."""

    TLS = "tls"
    STARTTLS = "starttls"


class SendWindows(StrEnum):
    ON = "on"
    OFF = "off"


class SemanticMode(StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


class Settings(BaseSettings):
    """Fairwell's configuration. Environment variables are FAIRWELL_ plus the upper-case name."""

    model_config = SettingsConfigDict(
        env_prefix="FAIRWELL_", frozen=True, extra="forbid", populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite:///fairwell.db",
        description="SQLAlchemy URL; SQLite file in the working directory by default. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    db_pool_size: int = Field(
        default=5,
        ge=1,
        le=100,
        description="PostgreSQL: connections each process keeps open (SQLite ignores the pool "
        "settings)",
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=100,
        description="PostgreSQL: extra connections a process may open at a peak, closed after use",
    )
    db_pool_recycle_seconds: float = Field(
        default=1800.0,
        gt=0,
        description="PostgreSQL: a pooled connection older than this is replaced (firewalls and "
        "poolers drop idle ones); every checkout is also pinged first",
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP relay host")
    smtp_port: int = Field(default=2525, ge=1, le=65535, description="SMTP relay port")
    smtp_security: SmtpSecurity = Field(
        default=SmtpSecurity.NONE, description="none, starttls or tls (implicit TLS)"
    )
    smtp_username: str | None = Field(default=None, description="AUTH user; no AUTH when unset")
    smtp_password: str | None = Field(default=None, description="AUTH password (or _FILE)")
    smtp_auth: SmtpAuth = Field(
        default=SmtpAuth.PASSWORD,
        description="password (AUTH with FAIRWELL_SMTP_USERNAME and _PASSWORD) or xoauth2 "
        "(Google Workspace, Microsoft 365: FAIRWELL_SMTP_USERNAME and a bearer token read from "
        "FAIRWELL_SMTP_OAUTH2_TOKEN_FILE at every new session)",
    )
    smtp_oauth2_token_file: Path | None = Field(
        default=None,
        description="xoauth2: a file holding the current access token, kept fresh by your "
        "token helper; read again for every SMTP session",
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="a CA bundle to verify the relay against, instead of the system's CAs",
    )
    smtp_timeout: float = Field(default=30.0, gt=0, description="seconds per SMTP command")
    smtp_connections: int = Field(
        default=1,
        ge=1,
        le=32,
        description="SMTP sessions each delivery process keeps busy at once, one thread each: "
        "more hide the relay's round trips; a crash may then resend up to this many more letters",
    )
    from_address: str = Field(
        default="careers@example.com",
        alias="FAIRWELL_FROM",
        description="the sender address of every letter",
        # A set address is checked on every start; the default is a constant, pinned valid
        # by tests/test_config.py, so an unconfigured start skips the address parser.
        validate_default=False,
    )
    from_name: str = Field(
        default="",
        description="display name of the sender (the From header); unset: the organisation "
        "name. A person's name set with FAIRWELL_SENDER_NAME or on the job signs the letter "
        "but does not change From: the address is the team's, not theirs",
    )
    bounce_address: str | None = Field(
        default=None,
        description="the envelope sender (MAIL FROM) of every letter, so bounces go to a "
        "mailbox `fairwell inbox fetch` reads; unset: the From address",
    )
    dkim_domain: str | None = Field(
        default=None,
        description="sign every letter with DKIM for this domain (d=); needs "
        "FAIRWELL_DKIM_SELECTOR and FAIRWELL_DKIM_PRIVATE_KEY_FILE",
    )
    dkim_selector: str | None = Field(
        default=None,
        description="the DKIM selector (s=): the key is published at "
        "<selector>._domainkey.<domain>",
    )
    dkim_private_key_file: Path | None = Field(
        default=None, description="the DKIM private key, RSA in PEM form (2048 bits or more)"
    )
    inbox_maildir: Path | None = Field(
        default=None,
        description="a Maildir that replies and bounces arrive in: `fairwell inbox fetch` "
        "reads new/ and moves what it handled to cur/",
    )
    imap_host: str | None = Field(
        default=None,
        description="or an IMAP mailbox that replies and bounces arrive in (TLS always, "
        "certificate verified)",
    )
    imap_port: int = Field(default=993, ge=1, le=65535, description="IMAP port")
    imap_security: ImapSecurity = Field(
        default=ImapSecurity.TLS, description="tls (implicit, port 993) or starttls (port 143)"
    )
    imap_username: str | None = Field(default=None, description="IMAP user")
    imap_password: str | None = Field(default=None, description="IMAP password (or _FILE)")
    imap_folder: str = Field(
        default="INBOX",
        description="the IMAP folder to read; give Fairwell a mailbox or folder of its own: "
        "what it handled is marked read",
    )
    imap_ca_file: Path | None = Field(
        default=None,
        description="a CA bundle to verify the IMAP server against, instead of the system's CAs",
    )
    imap_timeout: float = Field(default=30.0, gt=0, description="seconds per IMAP command")
    org_name: str = Field(default="Example Corp", description="organisation name in letters")
    reply_to: str | None = Field(
        default=None,
        description="the Reply-To address of every letter, where candidates' replies (asking "
        "for more feedback, or to have their data deleted) go; unset: the sender address",
    )
    sender_name: str = Field(
        default="",
        max_length=200,
        description='the person who signs every letter, e.g. "Dana Smith, Talent team", '
        "unless the job names its own (`fairwell job sender`); unset: the organisation signs",
    )
    letters_name_referrer: bool = Field(
        default=False,
        description="a referral-closed letter names the colleague who suggested the person "
        "(only with their agreement); off: it says a member of our team",
    )
    template_dir: Path | None = Field(
        default=None, description="a folder of letter templates that override the built-in ones"
    )
    feedback_library: Path | None = Field(
        default=None,
        description="a TOML improvement library that extends or overrides the built-in one: "
        "suggestions shown to whoever writes a job's wording, never feedback by themselves",
    )
    lint_terms: Path | None = Field(
        default=None,
        description="a TOML file of extra wording the compliance lint flags (same shape as the "
        "built-in lists)",
    )
    request_due_business_days: int = Field(
        default=5, ge=1, le=60, description="a feedback request is due this many working days later"
    )
    show_scores: bool = Field(
        default=False, description="show interview ratings (1-4) in candidate feedback"
    )
    portal_url: str | None = Field(
        default=None,
        description="the candidate portal's base URL; when set, every letter carries a "
        "personal signed link (needs FAIRWELL_SECRET_KEY)",
    )
    secret_key: str | None = Field(
        default=None,
        min_length=32,
        description="signs candidates' portal links (or _FILE); at least 32 characters",
    )
    secret_key_fallbacks: list[str] = Field(
        default_factory=list,
        description="earlier secret keys, as a JSON list: portal links signed with them are "
        "still accepted, new ones are signed with FAIRWELL_SECRET_KEY (key rotation)",
    )
    portal_link_max_age_days: int = Field(
        default=90,
        ge=1,
        le=730,
        description="a portal link works this many days after its letter was composed; an "
        "older one leads to a page that sends a fresh link",
    )
    retention_policies: Path | None = Field(
        default=None,
        description="a TOML file of retention policies laid over the shipped ones, field by "
        'field (docs/retention.md); it also sets how long "keep me on file" lasts',
    )
    consent_renewal_days: int = Field(
        default=14,
        ge=1,
        le=90,
        description="a talent-pool consent's renewal letter goes this many days before it "
        "expires (fairwell retention renewals)",
    )
    rediscovery_semantic: SemanticMode = Field(
        default=SemanticMode.AUTO,
        description="rediscovery also weighs similarity in meaning, by a local model from the "
        "optional `semantic` extra (nothing is downloaded): auto uses it when installed; on "
        "requires it (a configuration error without it); off never uses it",
    )
    wording_classifier: SemanticMode = Field(
        default=SemanticMode.AUTO,
        description="the wording check also runs a local meaning classifier beside its word "
        "lists (the optional `semantic` extra; nothing is downloaded): auto uses it when "
        "installed and says plainly when it is not; on requires it (a configuration error "
        "without it); off runs the word lists only",
    )
    secure_cookies: bool = Field(
        default=False,
        description="mark web session cookies Secure (set True whenever the app is served "
        "over HTTPS)",
    )
    web_assets: Path | None = Field(
        default=None,
        description="the node_modules folder holding the web app's pinned front-end packages "
        "(Pico CSS, Swagger UI; `make` installs them into .webtools/); unset: .webtools/"
        "node_modules of the working directory or of the source checkout",
    )
    retry_deadline_hours: float = Field(
        default=48.0, gt=0, description="a 4xx is retried with backoff until this age"
    )
    retry_base_seconds: float = Field(
        default=30.0, gt=0, description="first retry delay; doubles each attempt (max 1 hour)"
    )
    lease_seconds: float = Field(
        default=120.0, gt=0, description="how long a worker owns a claimed letter"
    )
    claim_batch: int = Field(default=250, ge=1, le=5000, description="letters claimed at once")
    rate_overall: float | None = Field(
        default=None,
        gt=0,
        description="letters a second across every worker together (your relay's limit); "
        "unset: no limit",
    )
    rate_per_domain: float | None = Field(
        default=None,
        gt=0,
        description="letters a second to one recipient domain, across every worker",
    )
    slow_down_seconds: float = Field(
        default=30.0,
        gt=0,
        description="how long every worker waits after the relay answers 421 or 454 or cannot "
        "be reached, whether or not a rate is set",
    )
    relay_tries: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="tries in a row, FAIRWELL_SLOW_DOWN_SECONDS apart, that `fairwell send` "
        "gives a relay that takes no letter (cannot be reached, 421, 454) before it stops "
        "waiting; the batch stays queued for `fairwell worker`",
    )
    commit_every: int = Field(
        default=20,
        ge=1,
        le=5000,
        description="delivery results committed together; a crash may resend at most this many",
    )
    stop_batch_on_violation: bool = Field(
        default=True, description="pause a batch when the privacy guard holds a letter"
    )
    confirm_threshold: int = Field(
        default=30, ge=0, description="bulk sends above this ask to type the letter count"
    )
    plan_max_age_minutes: int = Field(
        default=60,
        ge=1,
        description="a staged send plan older than this is composed again before it is sent "
        "(its letters' Date headers and send windows were fixed when it was made)",
    )

    send_windows: SendWindows = Field(
        default=SendWindows.ON,
        description="on: letters go in the candidate's local business hours "
        "(docs/sending-times.md); off: at once, for the whole installation (audited with each "
        "batch)",
    )
    send_window_start: time = Field(
        default=time(9, 0), description="local time a candidate's send window opens (HH:MM)"
    )
    send_window_end: time = Field(
        default=time(17, 0), description="local time a candidate's send window closes (HH:MM)"
    )
    send_gap_hours: float = Field(
        default=24.0, ge=0, description="no letter within this many hours of the last interview"
    )
    send_max_delay_hours: float = Field(
        default=168.0,
        gt=0,
        description="no letter waits longer than this for a window (the interview gap still holds)",
    )
    default_timezone: str = Field(
        default="UTC",
        description="time zone of a candidate whose data has none (an IANA name, e.g. "
        "Europe/London)",
    )
    default_country: str | None = Field(
        default=None,
        description="country (ISO 3166, e.g. GB) whose public holidays count for a candidate "
        "whose data has none; unset: weekends only",
    )
    default_locale: str = Field(
        default="en",
        description="language of the letters to a candidate whose data has none (an empty "
        "locale cell, an ATS export or pull without a language): en or de; "
        "`fairwell import --locale` overrides it for one import",
    )
    notice_alert_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="`fairwell deadlines` alerts from this day after the last interview on "
        "(at the latest on the deadline itself); the deadlines come from the jurisdiction "
        "rules (notice_days in docs/retention.md), not from a setting",
    )

    delivery_engine: DeliveryEngine = Field(
        default="embedded",
        description="who delivers what `send --no-wait`, request answers and the web app "
        "queue: embedded (`fairwell worker` or `fairwell serve` polls the database) or celery "
        "(a deliver task is pushed to FAIRWELL_BROKER_URL at once)",
    )
    broker_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Celery broker for `fairwell worker --engine celery` and `fairwell beat` "
        "(or _FILE): redis://host:6379/0 or amqp://user:password@host:5672//",
    )
    celery_queue: str = Field(
        default="fairwell",
        pattern=r"^[A-Za-z0-9_.-]{1,100}$",
        description="the broker queue Fairwell's tasks go through (one per installation "
        "sharing a broker)",
    )
    beat_delivery_seconds: float = Field(
        default=5.0,
        ge=0.5,
        le=3600,
        description="Celery beat kicks delivery this often; also the longest a queued or "
        "scheduled letter waits for a Celery worker",
    )
    beat_inbox_minutes: float = Field(
        default=5.0,
        ge=0.5,
        le=1440,
        description="Celery beat fetches the inbox this often, when FAIRWELL_INBOX_MAILDIR or "
        "FAIRWELL_IMAP_HOST is set",
    )
    beat_housekeeping_minutes: float = Field(
        default=60.0,
        ge=1,
        le=1440,
        description="Celery beat runs the deadlines check, retention and consent renewals "
        "this often",
    )

    # --- applicant tracking systems (docs/integrations/) ---
    greenhouse_client_id: str | None = Field(
        default=None, description="Greenhouse Harvest v3 OAuth client id (client credentials)"
    )
    greenhouse_client_secret: SecretStr | None = Field(
        default=None, description="Greenhouse Harvest v3 OAuth client secret (or _FILE)"
    )
    greenhouse_user_id: str | None = Field(
        default=None,
        description="the Greenhouse user the token is issued for (the token's sub): pulls and "
        "rejections show as done by this user",
    )
    greenhouse_url: str = Field(
        default="https://harvest.greenhouse.io/v3",
        description="Greenhouse Harvest API base URL (point it at a sandbox to try things)",
    )
    greenhouse_auth_url: str = Field(
        default="https://auth.greenhouse.io/token", description="Greenhouse OAuth token endpoint"
    )
    greenhouse_webhook_secret: SecretStr | None = Field(
        default=None,
        description="the secret key of the Greenhouse webhooks posting to /hooks/greenhouse "
        "(or _FILE); unset: that endpoint refuses everything",
    )
    lever_api_key: SecretStr | None = Field(default=None, description="Lever API key (or _FILE)")
    lever_perform_as: str | None = Field(
        default=None, description="the Lever user id archives are performed as (perform_as)"
    )
    lever_url: str = Field(default="https://api.lever.co/v1", description="Lever API base URL")
    lever_webhook_tokens: SecretStr | None = Field(
        default=None,
        description="the signature token of each Lever webhook posting to /hooks/lever, as a "
        'JSON object by event ({"candidateStageChange": "...", ...}) (or _FILE); unset: that '
        "endpoint refuses everything",
    )
    ats_reason_map: Path | None = Field(
        default=None,
        description="a TOML file mapping reason codes to each ATS's rejection or archive "
        "reasons, laid over the shipped defaults (docs/integrations/README.md)",
    )
    ats_timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, description="seconds to wait for one ATS request"
    )
    ats_max_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="tries of one ATS request that failed with a 5xx, a 429 or a dropped "
        "connection before the pull or write-back stops (and resumes later)",
    )
    ats_max_wait_seconds: float = Field(
        default=120.0,
        ge=0,
        le=3600,
        description="the longest an ATS request waits for a Retry-After; a longer one stops "
        "the pull (run it again later: it resumes)",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="seconds an outgoing webhook may take to answer"
    )
    beat_integrations_minutes: float = Field(
        default=5.0,
        ge=0.5,
        le=1440,
        description="Celery beat runs the ATS write-back (fairwell ats sync) and outgoing "
        "webhook deliveries this often",
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (ValueError, OSError, LookupError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @field_validator("default_country")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 2 and value.isalpha()):
            raise ValueError(f"{value!r} is not a two-letter country code")
        return value.upper() if value else None

    @field_validator("default_locale")
    @classmethod
    def _letter_language(cls, value: str) -> str:
        return letter_locale(value)

    @model_validator(mode="after")
    def _window_opens_before_it_closes(self) -> Settings:
        if self.send_window_start >= self.send_window_end:
            raise ValueError("send_window_start must be before send_window_end")
        return self

    @field_validator("from_address", "reply_to")
    @classmethod
    def _valid_sender(cls, value: str | None) -> str | None:
        from fairwell.domain.addresses import normalise_address

        if value is not None:
            normalise_address(value)
        return value

    @field_validator("sender_name", "from_name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(not char.isprintable() for char in value):
            raise ValueError("must be one line of printable text")
        return value.strip()

    @property
    def reply_address(self) -> str:
        """Where replies go: FAIRWELL_REPLY_TO, else the sender."""
        return self.reply_to or self.from_address

    @model_validator(mode="after")
    def _portal_needs_a_key(self) -> Settings:
        if self.portal_url and not self.secret_key:
            raise ValueError("portal_url is set but secret_key is not: links must be signed")
        return self

    @model_validator(mode="after")
    def _one_inbox(self) -> Settings:
        if self.inbox_maildir is not None and self.imap_host:
            raise ValueError("set inbox_maildir or imap_host, not both")
        if self.imap_host and not (self.imap_username and self.imap_password is not None):
            raise ValueError("imap_host needs imap_username and imap_password (or _FILE)")
        return self

    @model_validator(mode="after")
    def _dkim_all_or_nothing(self) -> Settings:
        parts = (self.dkim_domain, self.dkim_selector, self.dkim_private_key_file)
        if any(parts) and not all(parts):
            raise ValueError(
                "dkim_domain, dkim_selector and dkim_private_key_file must be set together"
            )
        return self

    @model_validator(mode="after")
    def _xoauth2_needs_a_token(self) -> Settings:
        if self.smtp_auth is SmtpAuth.XOAUTH2 and not (
            self.smtp_username and self.smtp_oauth2_token_file
        ):
            raise ValueError("smtp_auth xoauth2 needs smtp_username and smtp_oauth2_token_file")
        return self

    @field_validator("bounce_address")
    @classmethod
    def _valid_bounce_address(cls, value: str | None) -> str | None:
        from fairwell.domain.addresses import normalise_address

        return normalise_address(value) if value else None

    @field_validator("secret_key_fallbacks")
    @classmethod
    def _fallbacks_are_long_enough(cls, keys: list[str]) -> list[str]:
        if any(len(key) < 32 for key in keys):
            raise ValueError("every earlier secret key must be at least 32 characters")
        return keys

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("FAIRWELL_CONFIG_FILE")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)


def _secrets_from_files(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in SECRET_FIELDS:
        path = environ.get(f"FAIRWELL_{name.upper()}_FILE")
        if path:
            try:
                values[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as error:
                raise ConfigurationError(
                    f"FAIRWELL_{name.upper()}_FILE: cannot read {path}: {error.strerror}"
                ) from None
    return values


# Settings that are gone, and what replaced them: set, they would be silently ignored.
RETIRED = {
    "FAIRWELL_NOTICE_DEADLINE_DAYS": "the notice deadline now comes from where each candidate "
    "is: notice_days in the jurisdiction rules (docs/retention.md); an organisation whose "
    "candidates all count as Ontario's sets it in its FAIRWELL_RETENTION_POLICIES file",
}


def letter_locale(value: str) -> str:
    """A language letters can be written in ("de", or "de-AT" read as "de"): the check of
    FAIRWELL_DEFAULT_LOCALE and of `fairwell import --locale`; raise ValueError otherwise."""
    from fairwell.domain.reasons import SUPPORTED_LOCALES, supported_language

    language = supported_language(value)
    if language is None:
        supported = ", ".join(SUPPORTED_LOCALES)
        raise ValueError(f"{value!r} is not a language letters are written in ({supported})")
    return language


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; raise ConfigurationError naming the bad variable."""
    for name, instead in RETIRED.items():
        if name in os.environ:
            raise ConfigurationError(f"{name} is no longer read: {instead}")
    toml_file = os.environ.get("FAIRWELL_CONFIG_FILE")
    if toml_file and not Path(toml_file).is_file():
        raise ConfigurationError(f"FAIRWELL_CONFIG_FILE: no such file {toml_file}")
    try:
        return Settings(**{**_secrets_from_files(dict(os.environ)), **overrides})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None

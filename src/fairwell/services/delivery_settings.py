"""The delivery settings as the operator set them, and a test of the SMTP connection.

These settings stay operator-owned: they come from the environment, the TOML file named by
FAIRWELL_CONFIG_FILE or *_FILE secrets, and the web app only shows them (never a password)
and where each came from. The connection test connects exactly as the worker does and asks
the relay whether it takes mail from our sender, without sending anything.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from fairwell.config import SECRET_FIELDS, Settings
from fairwell.errors import ConfigurationError, DeliveryError, PermanentDeliveryError
from fairwell.ports.transport import RelayProbe

# What the settings page shows, in this order, with a label an operator recognises.
SHOWN: tuple[tuple[str, str], ...] = (
    ("smtp_host", "SMTP host"),
    ("smtp_port", "SMTP port"),
    ("smtp_security", "TLS mode"),
    ("smtp_username", "Username"),
    ("smtp_password", "Password"),
    ("smtp_ca_file", "CA file"),
    ("smtp_timeout", "Timeout (seconds per command)"),
    ("from_address", "From address"),
    ("from_name", "From name"),
    ("org_name", "Organisation name"),
    ("retry_base_seconds", "First retry after (seconds)"),
    ("retry_deadline_hours", "Retry until (hours)"),
    ("lease_seconds", "Worker lease (seconds)"),
    ("claim_batch", "Letters claimed at once"),
    ("commit_every", "Results committed together"),
    ("confirm_threshold", "Type the count above"),
)


@dataclass(frozen=True, slots=True)
class SettingRow:
    name: str
    label: str
    value: str
    source: str


def env_name(field: str) -> str:
    return "FAIRWELL_FROM" if field == "from_address" else f"FAIRWELL_{field.upper()}"


def _shown_value(settings: Settings, field: str) -> str:
    value = getattr(settings, field)
    if field in SECRET_FIELDS:
        return "set (not shown)" if value else "not set"
    if value is None or value == "":
        return "not set"
    return str(value)


def _toml_keys(environ: Mapping[str, str]) -> frozenset[str]:
    path = environ.get("FAIRWELL_CONFIG_FILE")
    if not path:
        return frozenset()
    try:
        return frozenset(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError):
        return frozenset()


def _source(
    settings: Settings, field: str, environ: Mapping[str, str], toml: frozenset[str]
) -> str:
    """Where a value came from, in the order the settings are read (the first one wins)."""
    if field in SECRET_FIELDS and environ.get(f"{env_name(field)}_FILE"):
        return f"file named by {env_name(field)}_FILE"
    if field not in settings.model_fields_set:
        return "built-in default"
    if env_name(field) in environ:
        return f"environment ({env_name(field)})"
    if field in toml:
        return f"config file ({environ['FAIRWELL_CONFIG_FILE']})"
    return "given when the app was started"


def delivery_settings(settings: Settings, environ: Mapping[str, str]) -> list[SettingRow]:
    """The settings that shape delivery, each with where it came from; no secret's value."""
    toml = _toml_keys(environ)
    return [
        SettingRow(
            field, label, _shown_value(settings, field), _source(settings, field, environ, toml)
        )
        for field, label in SHOWN
    ]


class Verdict(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    MISCONFIGURED = "misconfigured"


@dataclass(frozen=True, slots=True)
class ConnectionOutcome:
    verdict: Verdict
    summary: str
    code: int | None = None
    detail: str = ""


def check_connection(settings: Settings, connect: Callable[[], RelayProbe]) -> ConnectionOutcome:
    """Connect, secure and sign in as the worker does (``connect``: the runtime's
    relay_probe); ask to send from our sender; send nothing."""
    relay = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        probe = connect()
    except ConfigurationError as error:
        return ConnectionOutcome(
            Verdict.MISCONFIGURED, "The settings cannot work.", None, str(error)
        )
    try:
        probe.probe(settings.from_address)
    except DeliveryError as error:
        return _failed(error, relay)
    finally:
        probe.close()
    return ConnectionOutcome(
        Verdict.OK,
        f"{relay} accepted the connection{_secured(settings)} and would take mail from "
        f"{settings.from_address}. Nothing was sent.",
        250,
    )


def _secured(settings: Settings) -> str:
    parts = []
    if settings.smtp_security != "none":
        parts.append(f" over verified TLS ({settings.smtp_security})")
    if settings.smtp_username:
        parts.append(" and the sign-in (AUTH)")
    return "".join(parts)


def _failed(error: DeliveryError, relay: str) -> ConnectionOutcome:
    if error.code is not None:
        kind = "for good" if isinstance(error, PermanentDeliveryError) else "for now"
        summary = f"{relay} refused {kind}, with code {error.code}."
        return ConnectionOutcome(Verdict.REFUSED, summary, error.code, error.detail)
    if isinstance(error, PermanentDeliveryError):
        summary = f"{relay} answered, but the connection cannot be used as configured."
        return ConnectionOutcome(Verdict.REFUSED, summary, None, error.detail)
    return ConnectionOutcome(Verdict.UNREACHABLE, f"Cannot connect to {relay}.", None, error.detail)

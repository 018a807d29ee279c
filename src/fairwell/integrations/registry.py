"""Which vendor folders Fairwell can talk to, found by what each folder holds.

A folder with ``connector.py`` (a ``connect(settings)`` function) can pull and write back; one
with ``webhooks.py`` (``verified_event(body, headers, settings)``) can post to
``/hooks/<vendor>``. Nothing else lists the vendors.
"""

from __future__ import annotations

import importlib
from importlib import resources
from typing import cast

from fairwell.config import Settings
from fairwell.errors import InvalidInput
from fairwell.ports.ats import AtsConnector, WebhookReceiver

__all__ = ["connect", "connector_vendors", "webhook_receiver", "webhook_vendors"]


def _vendors_with(module: str) -> list[str]:
    package = resources.files("fairwell.integrations")
    return sorted(
        entry.name
        for entry in package.iterdir()
        if entry.is_dir() and entry.joinpath(f"{module}.py").is_file()
    )


def connector_vendors() -> list[str]:
    return _vendors_with("connector")


def webhook_vendors() -> list[str]:
    return _vendors_with("webhooks")


def connect(vendor: str, settings: Settings) -> AtsConnector:
    """The vendor's connector; ConfigurationError when its settings are missing."""
    if vendor not in connector_vendors():
        known = ", ".join(connector_vendors())
        raise InvalidInput(f"Fairwell cannot connect to {vendor!r}; it can connect to {known}")
    module = importlib.import_module(f"fairwell.integrations.{vendor}.connector")
    return cast(AtsConnector, module.connect(settings))


def webhook_receiver(vendor: str) -> WebhookReceiver | None:
    if vendor not in webhook_vendors():
        return None
    module = importlib.import_module(f"fairwell.integrations.{vendor}.webhooks")
    return cast(WebhookReceiver, module.verified_event)

"""Letter templates and the wording edited in the settings pages (rendering.py,
storage/settings_store.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class RenderedText(Protocol):
    @property
    def subject(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def html(self) -> str: ...


class TemplateSource(Protocol):
    """Renders a letter kind in a locale from a context of plain values."""

    def render(self, kind: str, locale: str, context: dict[str, object]) -> RenderedText: ...


@dataclass(frozen=True, slots=True)
class LetterOverrides:
    """Wording and templates edited in the settings pages, as one snapshot.

    ``wordings`` maps (reason code, locale) to the candidate-facing sentence; ``templates``
    maps a template name (``letters/en/rejection.txt.j2``) to its source.
    """

    wordings: Mapping[tuple[str, str], str] = field(default_factory=dict)
    templates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    """Who last edited one override and when (the text itself stays in the store)."""

    key: str
    updated_by: str
    updated_at: datetime


class TemplateOverrides(Protocol):
    """Template sources that win over the files; the same mapping object until one changes."""

    def template_sources(self) -> Mapping[str, str]: ...


class ReasonWordings(Protocol):
    """The candidate-facing wording of a reason code in a locale, edited or built in."""

    def wording(self, code: str, locale: str) -> str: ...


class LetterSettingsStore(Protocol):
    """Persistence of edited wording and templates. Every write is one audited transaction."""

    def overrides(self) -> LetterOverrides: ...

    def wording_records(self) -> list[OverrideRecord]: ...

    def template_records(self) -> list[OverrideRecord]: ...

    def save_wording(
        self, code: str, locale: str, wording: str, actor: str, now: datetime
    ) -> None: ...

    def reset_wording(self, code: str, locale: str, actor: str, now: datetime) -> bool: ...

    def save_template(self, name: str, source: str, actor: str, now: datetime) -> None: ...

    def reset_template(self, name: str, actor: str, now: datetime) -> bool: ...

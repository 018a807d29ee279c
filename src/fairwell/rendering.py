"""Letter templates: Jinja2's immutable sandbox with strict undefined.

A letter template is ``letters/<locale>/<kind>.txt.j2`` with two blocks, ``subject`` and
``body``. The HTML part is made from the rendered body (paragraphs, autoescaped) through
``letters/layout.html.j2``, so the two parts can never say different things. An
organisation's own templates in ``FAIRWELL_TEMPLATE_DIR`` override the built-in ones, and a
template edited in the settings pages (the ``template_overrides`` table, read through the
TemplateOverrides port) wins over both; every template is checked
(:meth:`LetterTemplates.check`) before any letter is planned.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateRuntimeError,
    nodes,
)
from jinja2.environment import Environment
from jinja2.loaders import BaseLoader
from markupsafe import Markup

from fairwell.domain.model import LetterKind
from fairwell.domain.reasons import REASONS, SUPPORTED_LOCALES
from fairwell.errors import TemplateCheckError as TemplateCheckError
from fairwell.guard.applied_wording import APPLICANT_ONLY_KINDS, applied_phrases
from fairwell.ports import TemplateOverrides, WordingCheck
from fairwell.template_limits import LimitedSandbox, budget, joined

LAYOUT = "letters/layout.html.j2"
# What a template's own expressions can raise besides Jinja's errors.
_TEMPLATE_FAULTS = (
    ArithmeticError,
    RecursionError,
    TypeError,
    ValueError,
    LookupError,
    MemoryError,
)


@dataclass(frozen=True, slots=True)
class RenderedLetter:
    subject: str
    text: str
    html: str


SAMPLE_CONTEXT: dict[str, object] = {
    "first_name": "Alex",
    "last_name": "Example",
    "full_name": "Alex Example",
    "job_title": "Sample Role",
    "org_name": "Example Corp",
    "sender_name": "The hiring team",
    "signed_by_person": False,
    "reason": REASONS[0].wording["en"],
    "application_ref": "FW-SAMPLE0000",
    "interviewed": True,
    "screened": False,
    "held_country": True,
    "held_timezone": True,
    "applied": True,
    "referral_aware": True,
    "source": "referred",
    "referred_by": "",
    "locale": "en",
    "feedback": ["A sample strength.", "A sample gap."],
    "next_steps": ["A sample next step."],
    "answer": "A sample answer from the hiring manager.",
    "promised_by": "15 January 2027",
    "kept_until": "26 May 2027",
    "keep_until": "26 May 2027",
    "portal_link": "https://careers.example.com/p/FW-SAMPLE0000~sample~signature",
}


def not_applied_samples(locale: str) -> list[dict[str, object]]:
    """Sample values for a referred or sourced person, who knew of the referral or not."""
    base = {**SAMPLE_CONTEXT, "locale": locale, "applied": False}
    return [{**base, "referral_aware": aware} for aware in (True, False)]


def template_name(kind: str, locale: str) -> str:
    return f"letters/{locale}/{kind}.txt.j2"


def _loader(template_dir: Path | None) -> BaseLoader:
    builtin = PackageLoader("fairwell", "templates")
    if template_dir is None:
        return builtin
    return ChoiceLoader([FileSystemLoader(str(template_dir)), builtin])


class FixedOverrides:
    """Template sources given up front: how one edited template is checked before its save."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._sources = dict(sources)

    def template_sources(self) -> Mapping[str, str]:
        return self._sources


class _OverrideLoader(BaseLoader):
    """Serves the edited templates; a name without an edit falls through to the files."""

    def __init__(self, overrides: TemplateOverrides) -> None:
        self._overrides = overrides

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        source = self._overrides.template_sources().get(template)
        if source is None:
            raise TemplateNotFound(template)

        def still_current() -> bool:
            return self._overrides.template_sources().get(template) == source

        return source, None, still_current


def _paragraphs_html(body: str) -> Markup:
    """The body's paragraphs as escaped HTML: blank lines part paragraphs, newlines break.

    Built with plain strings and ``html.escape`` (then marked safe once): building it from
    Markup pieces cost more than rendering the whole letter.
    """
    # Escaped once as a whole: escaping leaves line breaks and spaces alone, so the blocks
    # and lines split out of it are the same as before, each escaped.
    escaped = html.escape(body.replace("\r\n", "\n"))
    blocks = [block.strip("\n") for block in escaped.split("\n\n")]
    paragraphs = (
        "<p>" + block.replace("\n", "<br>\n") + "</p>" for block in blocks if block.strip()
    )
    return Markup("\n".join(paragraphs))  # noqa: S704 - the whole body was escaped above


def _flattened(template: Template) -> Template:
    """The template with its globals in one plain dict instead of a chain of two.

    Every render copies a template's globals into a new context, twice a letter; read
    through a ChainMap that cost more than rendering the layout. Our environments' globals
    are set when they are made and never change, so a snapshot holds the same names.
    """
    if not isinstance(template.globals, dict):
        template.globals = dict(template.globals)
    return template


class LetterTemplates:
    """The TemplateSource used in production: sandboxed, strict, cached."""

    def __init__(
        self, template_dir: Path | None = None, overrides: TemplateOverrides | None = None
    ) -> None:
        self._files = _loader(template_dir)
        self._overrides = overrides
        loader = self._files
        if overrides is not None:
            loader = ChoiceLoader([_OverrideLoader(overrides), self._files])
        self._loader = loader
        # The sandbox with limits on time, size and loops (template_limits.py): an edited
        # template is untrusted input.
        self._text_env = LimitedSandbox(
            loader=loader, undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        self._html_env = LimitedSandbox(loader=loader, undefined=StrictUndefined, autoescape=True)
        self._cache: dict[tuple[str, str], Template] = {}
        # Read lazily: opening a runtime must not need the database (`fairwell init` comes first).
        self._seen: Mapping[str, str] | None = None
        self._layout: Template | None = None
        # What the last check that passed was given: its wording check and edited templates.
        self._passed: tuple[WordingCheck | None, Mapping[str, str] | None] | None = None

    def _refresh(self) -> Template:
        """Forget compiled templates once the edited ones changed; return the layout.

        The overrides hand back the same mapping object until an edit was saved, so this is
        an identity check per letter, not a comparison of sources.
        """
        if self._overrides is not None:
            current = self._overrides.template_sources()
            if current is not self._seen:
                self._seen = current
                self._forget_compiled()
        layout = self._layout  # one read: another thread may forget it meanwhile
        if layout is None:
            layout = self._layout = _flattened(self._html_env.get_template(LAYOUT))
        return layout

    def _forget_compiled(self) -> None:
        self._cache = {}
        self._layout = None
        for env in (self._text_env, self._html_env):
            if env.cache is not None:
                env.cache.clear()

    def _template(self, kind: str, locale: str) -> Template:
        key = (kind, locale)
        if key not in self._cache:
            self._cache[key] = _flattened(self._text_env.get_template(template_name(kind, locale)))
        return self._cache[key]

    def source(self, name: str) -> str:
        """The source a letter is made from now: the edited one, else the file."""
        return self._loader.get_source(self._text_env, name)[0]

    def default_source(self, name: str) -> str:
        """The source without any edit: the template folder's, else the built-in one."""
        return self._files.get_source(self._text_env, name)[0]

    def parse(self, source: str) -> nodes.Template:
        """Parse a template source in the sandbox; raise TemplateSyntaxError."""
        return self._text_env.parse(source)

    def globals(self) -> frozenset[str]:
        """Names every template may use without being given them (range, dict, ...)."""
        return frozenset(self._text_env.globals)

    def render(self, kind: str, locale: str, context: dict[str, object]) -> RenderedLetter:
        """Render one letter under the limits; raise jinja2 errors for undefined names, unsafe
        access, a limit exceeded (TemplateLimitError) or any other failure of the template."""
        try:
            with budget():
                return self._render(kind, locale, context)
        except TemplateError:
            raise
        except _TEMPLATE_FAULTS as error:
            # A template's own arithmetic or data fault (1 / 0, "a" + 1, endless recursion):
            # reported like any broken template, never an uncaught error.
            raise TemplateRuntimeError(f"{type(error).__name__}: {error}") from None

    def _render(self, kind: str, locale: str, context: dict[str, object]) -> RenderedLetter:
        layout = self._refresh()
        template = self._template(kind, locale)
        ctx = template.new_context(context)  # not shared: Jinja copies it into a new dict
        subject = joined(template.blocks["subject"](ctx)).strip()
        body = joined(template.blocks["body"](ctx)).strip() + "\n"
        parts = {"locale": locale, "subject": subject, "body_html": _paragraphs_html(body)}
        html = joined(layout.generate(parts))
        return RenderedLetter(subject=subject, text=body, html=html)

    def check(self, wording: WordingCheck | None = None) -> None:
        """Render every kind in every locale with sample data; raise TemplateCheckError.

        With ``wording``, the rendered text is also run through the compliance lint: a
        template's own words reach every candidate, so a flagged template cannot be used.

        A pass is remembered until the edited templates change or another check is given:
        the letters are made from the compiled templates it checked (a plan page asks for
        every plan; the check cost it tens of milliseconds).
        """
        sources = self._overrides.template_sources() if self._overrides is not None else None
        passed = self._passed
        if passed is not None and passed[0] is wording and passed[1] is sources:
            return
        for kind in LetterKind:
            for locale in SUPPORTED_LOCALES:
                self.check_one(kind, locale, wording)
        self._passed = (wording, sources)

    def check_one(self, kind: str, locale: str, wording: WordingCheck | None = None) -> None:
        name = template_name(kind, locale)
        try:
            self._refresh()
            template = self._template(kind, locale)
            missing = {"subject", "body"} - set(template.blocks)
            if missing:
                raise TemplateCheckError(f"{name}: missing block(s) {', '.join(sorted(missing))}")
            rendered = self.render(kind, locale, {**SAMPLE_CONTEXT, "locale": locale})
            unapplied = [
                self.render(kind, locale, context) for context in not_applied_samples(locale)
            ]
        except TemplateError as error:
            raise TemplateCheckError(f"{name}: {type(error).__name__}: {error}") from None
        if kind not in APPLICANT_ONLY_KINDS:
            for letter in unapplied:
                said = applied_phrases(f"{letter.subject}\n{letter.text}")
                if said:
                    raise TemplateCheckError(
                        f"{name}: a referred or sourced person would read “{said[0]}”; "
                        "word it apart with {% if applied %}"
                    )
        findings = wording(f"{rendered.subject}\n{rendered.text}", locale) if wording else []
        if findings:
            first = findings[0]
            raise TemplateCheckError(f"{name}: wording flagged ({first.rule}): {first.why}")

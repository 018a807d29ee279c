"""Edit the words candidates read: reason wording and letter templates, checked before save.

An admin edits a reason's sentence or a letter template in the settings pages. Every edit is
checked the same way whether the browser asks as the admin types or the form is submitted:

* a reason's wording: not empty, a sane length, one line, no unfilled placeholder, nothing
  the compliance lint flags, and a sample rejection letter carrying it passes the privacy
  guard;
* a template: it compiles in the sandbox, names only placeholders a letter provides, has the
  blocks a letter needs, renders against sample applicants without an undefined value, its
  rendered words pass the compliance lint and its sample letters pass the privacy guard.

A save with any finding is refused (:class:`EditRefused`). Saved edits win over the built-in
wording and templates in every process that composes letters: :class:`CachedOverrides` reads
them from the database, at most ``recheck_seconds`` stale in another process and at once in
the process that saved them.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError, meta, nodes

from fairwell.domain.mime import Mailbox, OutgoingLetter, to_bytes
from fairwell.domain.model import LetterKind, Stage
from fairwell.domain.reasons import REASONS, SUPPORTED_LOCALES, Reason, reason_for
from fairwell.errors import EditProblem as EditProblem
from fairwell.errors import EditRefused as EditRefused
from fairwell.errors import FairwellError, NotFound
from fairwell.guard.applied_wording import APPLICANT_ONLY_KINDS, applied_phrases
from fairwell.guard.privacy import Expectation, inspect, unrendered_placeholder
from fairwell.guard.roster import Roster, RosterEntry
from fairwell.ports import (
    LetterOverrides,
    LetterSettingsStore,
    OverrideRecord,
    WordingCheck,
)
from fairwell.rendering import (
    LAYOUT,
    SAMPLE_CONTEXT,
    FixedOverrides,
    LetterTemplates,
    RenderedLetter,
    template_name,
)
from fairwell.services.rosters import RosterSource

MIN_WORDING_CHARACTERS = 10
MAX_WORDING_CHARACTERS = 400
MAX_TEMPLATE_CHARACTERS = 20_000
LAYOUT_PLACEHOLDERS = ("body_html", "locale", "subject")


# -- the edits, as every process that composes reads them -------------------------------------


class CachedOverrides:
    """The saved edits, re-read from the store at most every ``recheck_seconds``.

    Implements the TemplateOverrides and ReasonWordings ports. An unchanged read keeps the
    same template mapping object, so LetterTemplates recompiles only after a real change.
    """

    def __init__(
        self,
        store: LetterSettingsStore,
        recheck_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshot = LetterOverrides()
        self._read_at: float | None = None

    def invalidate(self) -> None:
        """Read the store again at the next use (called after a save in this process)."""
        with self._lock:
            self._read_at = None

    def current(self) -> LetterOverrides:
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self._recheck:
                self._snapshot = _kept_if_equal(self._snapshot, self._store.overrides())
                self._read_at = now
            return self._snapshot

    def template_sources(self) -> Mapping[str, str]:
        return self.current().templates

    def wording(self, code: str, locale: str) -> str:
        edited = self.current().wordings.get((code, locale))
        return edited if edited is not None else reason_for(code).for_locale(locale)


def _kept_if_equal(old: LetterOverrides, new: LetterOverrides) -> LetterOverrides:
    templates = old.templates if old.templates == new.templates else new.templates
    return LetterOverrides(wordings=new.wordings, templates=templates)


# -- what can be edited -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateSlot:
    """One editable template: a letter kind in a locale, or the HTML layout of every letter."""

    key: str  # the URL part: "en-rejection" or "layout"
    name: str  # the template name the loader knows
    kind: str | None = None
    locale: str | None = None

    @property
    def label(self) -> str:
        if self.kind is None:
            return "HTML layout (every letter)"
        return f"{self.kind.replace('_', ' ').capitalize()} ({self.locale})"

    @property
    def placeholders(self) -> tuple[str, ...]:
        return LAYOUT_PLACEHOLDERS if self.kind is None else tuple(sorted(SAMPLE_CONTEXT))


TEMPLATE_SLOTS: tuple[TemplateSlot, ...] = (
    *(
        TemplateSlot(
            f"{locale}-{kind.value}", template_name(kind.value, locale), kind.value, locale
        )
        for kind in LetterKind
        for locale in SUPPORTED_LOCALES
    ),
    TemplateSlot("layout", LAYOUT),
)


def template_slot(key: str) -> TemplateSlot:
    for slot in TEMPLATE_SLOTS:
        if slot.key == key:
            return slot
    raise NotFound(f"no letter template {key!r}")


def known_reason(code: str, locale: str | None = None) -> Reason:
    """The reason for ``code``; NotFound for an unknown code or locale."""
    reason = next((r for r in REASONS if r.code == code), None)
    if reason is None or (locale is not None and locale not in SUPPORTED_LOCALES):
        raise NotFound(f"no reason wording {code!r} in {locale or 'any locale'}")
    return reason


@dataclass(frozen=True, slots=True)
class WordingRow:
    locale: str
    wording: str
    builtin: str
    edited: OverrideRecord | None


@dataclass(frozen=True, slots=True)
class ReasonRow:
    reason: Reason
    wordings: tuple[WordingRow, ...]

    @property
    def edited(self) -> bool:
        return any(row.edited for row in self.wordings)


@dataclass(frozen=True, slots=True)
class TemplateRow:
    slot: TemplateSlot
    edited: OverrideRecord | None
    # Where the unedited template comes from: an installation's FAIRWELL_TEMPLATE_DIR may
    # replace a shipped one, and "reset" goes back to that file, not to what Fairwell ships.
    from_folder: bool = False

    @property
    def origin(self) -> str:
        return "template folder" if self.from_folder else "built-in"

    @property
    def unedited(self) -> str:
        """What a reset goes back to, in words."""
        if self.from_folder:
            return "the template in FAIRWELL_TEMPLATE_DIR"
        return "the built-in template"


@dataclass(frozen=True, slots=True)
class TemplateReport:
    """What the checks found in one template source, and a preview when it rendered."""

    problems: tuple[EditProblem, ...]
    available: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    preview_subject: str = ""
    preview_text: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


# -- the sample letters every edit is tried on ------------------------------------------------

# The sample people are laid over everyone on file (ids no person in the database has), so a
# template that names a real candidate of any job, past or present, is caught too.
_SAMPLE_PERSON = RosterEntry(-1, "alex@example.com", "Alex Example", ("FW-SAMPLE0000",))
# Someone else on the sample roster: a template that names another candidate is caught.
_OTHER_PERSON = RosterEntry(-2, "jordan.other@example.com", "Jordan Other", ("FW-SAMPLE0001",))
_SAMPLE_DATE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _samples(locale: str) -> Iterator[dict[str, object]]:
    """Two applicants and a referred person: every branch of the built-in templates."""
    base = {**SAMPLE_CONTEXT, "locale": locale}
    yield base
    yield {
        **base,
        "interviewed": False,
        "referral_aware": False,
        "source": "sourced",
        "signed_by_person": True,
        "sender_name": "Sam Signer",
        "feedback": [],
        "next_steps": [],
        "portal_link": "",
    }
    yield {**base, "applied": False, "referral_aware": False}
    yield {
        **base,
        "applied": False,
        "interviewed": False,
        "screened": True,
        "held_country": True,
        "held_timezone": False,
    }
    yield {**base, "applied": False, "interviewed": False, "held_country": False}


def _applied_wording(
    letter: RenderedLetter, kind: str, context: Mapping[str, object]
) -> list[EditProblem]:
    """Words of an applicant in a letter a referred or sourced person would read."""
    if context["applied"] or kind in APPLICANT_ONLY_KINDS:
        return []
    return [
        EditProblem(
            "applied-wording",
            f"a referred or sourced person would read “{label}”: they did not apply",
            str(context["locale"]),
            "word it apart with {% if applied %} … {% else %} … {% endif %}",
        )
        for label in applied_phrases(f"{letter.subject}\n{letter.text}")
    ]


def _guard(rendered: RenderedLetter, locale: str, roster: Roster) -> list[EditProblem]:
    """Run the privacy guard's rules over the sample letter's final bytes."""
    try:
        body = to_bytes(
            OutgoingLetter(
                sender=Mailbox("careers@example.com", "Example Corp"),
                recipient=Mailbox(_SAMPLE_PERSON.email, _SAMPLE_PERSON.full_name),
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                locale=locale,
                message_id="<sample@example.com>",
                date=_SAMPLE_DATE,
            )
        )
    except FairwellError as error:
        return [EditProblem("privacy", f"the letter cannot be built: {error}", locale)]
    expectation = Expectation(
        _SAMPLE_PERSON.email,
        _SAMPLE_PERSON.person_id,
        locale,
        Stage.SCREEN,
        roster,
    )
    return [
        EditProblem("privacy", f"the privacy guard would hold it ({f.rule}): {f.detail}", locale)
        for f in inspect(body, expectation)
    ]


def _lint(text: str, locale: str, wording: WordingCheck) -> list[EditProblem]:
    problems = []
    for finding in wording(text, locale):
        words = text[finding.span[0] : finding.span[1]]
        message = f"“{words}”: {finding.why} ({finding.rule})"
        problems.append(EditProblem("wording", message, locale, finding.suggestion))
    return problems


def _unique(problems: Sequence[EditProblem]) -> tuple[EditProblem, ...]:
    """Each problem once: the two sample applicants often find the same thing."""
    return tuple(dict.fromkeys(problems))


# -- the editor -------------------------------------------------------------------------------


@dataclass
class LetterEditor:
    """Lists, checks, saves and resets edited wording and templates."""

    store: LetterSettingsStore
    cache: CachedOverrides
    wording_check: WordingCheck
    template_dir: Path | None = None
    # Everyone on file (the runtime's roster): sample letters must name none of them.
    rosters: RosterSource | None = None
    _templates: LetterTemplates = field(init=False)

    def __post_init__(self) -> None:
        self._templates = LetterTemplates(self.template_dir, self.cache)

    def _sample_roster(self) -> Roster:
        """The sample people over everyone on file (only them, without a roster source)."""
        samples = (_SAMPLE_PERSON, _OTHER_PERSON)
        return self.rosters.current().with_people(samples) if self.rosters else Roster(samples)

    # reasons

    def reasons(self) -> list[ReasonRow]:
        records = {record.key: record for record in self.store.wording_records()}
        edits = self.store.overrides().wordings
        return [
            ReasonRow(
                reason,
                tuple(
                    WordingRow(
                        locale,
                        edits.get((reason.code, locale), reason.for_locale(locale)),
                        reason.for_locale(locale),
                        records.get(f"{reason.code}/{locale}"),
                    )
                    for locale in SUPPORTED_LOCALES
                ),
            )
            for reason in REASONS
        ]

    def reason(self, code: str) -> ReasonRow:
        known_reason(code)
        return next(row for row in self.reasons() if row.reason.code == code)

    def check_wording(self, code: str, locale: str, text: str) -> list[EditProblem]:
        """Everything that stops this sentence from going into letters; empty when none."""
        known_reason(code, locale)
        cleaned = text.strip()
        shape = _wording_shape(cleaned, locale)
        if shape:
            return shape
        problems = _lint(cleaned, locale, self.wording_check)
        roster = self._sample_roster()
        try:
            for context in _samples(locale):
                rendered = self._templates.render(
                    LetterKind.REJECTION.value, locale, {**context, "reason": cleaned}
                )
                problems += _guard(rendered, locale, roster)
        except TemplateError as error:  # the rejection template, not this wording, is broken
            problems.append(EditProblem("render", f"the rejection letter fails: {error}", locale))
        return list(_unique(problems))

    def save_wordings(
        self, code: str, texts: Mapping[str, str], actor: str, now: datetime
    ) -> list[str]:
        """Check every locale's text, then save the changed ones; return the locales saved.

        Text equal to the built-in wording removes the edit instead of storing a copy.
        """
        problems = [
            problem
            for locale, text in texts.items()
            for problem in self.check_wording(code, locale, text)
        ]
        if problems:
            raise EditRefused(problems)
        reason, edits = known_reason(code), self.store.overrides().wordings
        saved = []
        for locale, text in texts.items():
            cleaned = text.strip()
            if cleaned == reason.for_locale(locale):
                self.store.reset_wording(code, locale, actor, now)
            elif cleaned != edits.get((code, locale)):
                self.store.save_wording(code, locale, cleaned, actor, now)
                saved.append(locale)
        self.cache.invalidate()
        return saved

    def reset_wording(self, code: str, locale: str, actor: str, now: datetime) -> bool:
        known_reason(code, locale)
        removed = self.store.reset_wording(code, locale, actor, now)
        self.cache.invalidate()
        return removed

    # templates

    def templates(self) -> list[TemplateRow]:
        records = {record.key: record for record in self.store.template_records()}
        return [
            TemplateRow(slot, records.get(slot.name), self._in_folder(slot))
            for slot in TEMPLATE_SLOTS
        ]

    def _in_folder(self, slot: TemplateSlot) -> bool:
        return self.template_dir is not None and (self.template_dir / slot.name).is_file()

    def template(self, key: str) -> tuple[TemplateRow, str]:
        """One template's row and the source letters are made from now."""
        slot = template_slot(key)
        row = next(row for row in self.templates() if row.slot == slot)
        return row, self._templates.source(slot.name)

    def default_source(self, key: str) -> str:
        return self._templates.default_source(template_slot(key).name)

    def check_template(self, key: str, source: str) -> TemplateReport:
        """Compile, resolve, render, lint and guard ``source`` as if it were saved."""
        slot = template_slot(key)
        available = tuple(sorted(slot.placeholders))
        shape = _template_shape(source)
        if shape:
            return TemplateReport(tuple(shape), available)
        try:
            tree = self._templates.parse(source)
        except TemplateSyntaxError as error:
            where = f"line {error.lineno}"
            return TemplateReport((EditProblem("syntax", f"{error.message}", where),), available)
        unknown = tuple(sorted(self._unknown_names(tree, available)))
        problems = [_unknown_problem(name, available) for name in unknown] + _missing_parts(
            slot, tree
        )
        if problems:
            return TemplateReport(tuple(problems), available, unknown)
        return self._tried(slot, source, available)

    def _unknown_names(self, tree: nodes.Template, available: Sequence[str]) -> set[str]:
        return meta.find_undeclared_variables(tree) - set(available) - self._templates.globals()

    def _tried(self, slot: TemplateSlot, source: str, available: tuple[str, ...]) -> TemplateReport:
        """Render the edited template on the sample applicants; lint and guard the letters."""
        trial = LetterTemplates(
            self.template_dir, FixedOverrides({**self.cache.template_sources(), slot.name: source})
        )
        letters: list[tuple[RenderedLetter, str, dict[str, object]]] = []
        try:
            for kind, locale in _letters_using(slot):
                letters += [
                    (trial.render(kind, locale, ctx), kind, ctx) for ctx in _samples(locale)
                ]
        except TemplateError as error:
            problem = EditProblem("render", f"{type(error).__name__}: {error}", slot.locale or "")
            return TemplateReport((problem,), available)
        problems: list[EditProblem] = []
        roster = self._sample_roster()
        for letter, kind, context in letters:
            locale = str(context["locale"])
            problems += _lint(f"{letter.subject}\n{letter.text}", locale, self.wording_check)
            problems += _guard(letter, locale, roster)
            problems += _applied_wording(letter, kind, context)
        first = letters[0][0]
        preview = first.html if slot.kind is None else first.text
        return TemplateReport(_unique(problems), available, (), first.subject, preview)

    def save_template(self, key: str, source: str, actor: str, now: datetime) -> None:
        """Check, then save; raise EditRefused with the findings. The same check as typing."""
        report = self.check_template(key, source)
        if not report.ok:
            raise EditRefused(report.problems)
        slot = template_slot(key)
        if source == self._templates.default_source(slot.name):
            # Saving the default text back is a reset: no copy that would hide later upgrades.
            self.store.reset_template(slot.name, actor, now)
        else:
            self.store.save_template(slot.name, source, actor, now)
        self.cache.invalidate()

    def reset_template(self, key: str, actor: str, now: datetime) -> bool:
        removed = self.store.reset_template(template_slot(key).name, actor, now)
        self.cache.invalidate()
        return removed


def _wording_shape(text: str, locale: str) -> list[EditProblem]:
    """The checks on the sentence alone; the later ones need a sentence that passes these."""
    if len(text) < MIN_WORDING_CHARACTERS:
        return [
            EditProblem("length", f"write at least {MIN_WORDING_CHARACTERS} characters", locale)
        ]
    if len(text) > MAX_WORDING_CHARACTERS:
        limit = MAX_WORDING_CHARACTERS
        return [
            EditProblem("length", f"keep it under {limit} characters ({len(text)} now)", locale)
        ]
    problems = []
    if "\n" in text or "\r" in text:
        problems.append(EditProblem("shape", "keep it to one line: it ends a sentence", locale))
    if text.endswith("."):
        problems.append(
            EditProblem("shape", "leave out the full stop at the end: the letter adds one", locale)
        )
    placeholder = unrendered_placeholder(text)
    if placeholder is not None:
        problems.append(
            EditProblem(
                "placeholder", f"{placeholder!r} would reach the candidate unfilled", locale
            )
        )
    return problems


def _template_shape(source: str) -> list[EditProblem]:
    if not source.strip():
        return [EditProblem("length", "the template is empty")]
    if len(source) > MAX_TEMPLATE_CHARACTERS:
        return [EditProblem("length", f"keep it under {MAX_TEMPLATE_CHARACTERS} characters")]
    return []


def _unknown_problem(name: str, available: Sequence[str]) -> EditProblem:
    close = difflib.get_close_matches(name, available, n=1)
    hint = f"did you mean {{{{ {close[0]} }}}}?" if close else "use one of: " + ", ".join(available)
    return EditProblem(
        "unknown-placeholder", f"{{{{ {name} }}}} is not a placeholder letters have", "", hint
    )


def _missing_parts(slot: TemplateSlot, tree: nodes.Template) -> list[EditProblem]:
    if slot.kind is None:
        printed = {
            name.name
            for output in tree.find_all(nodes.Output)
            for name in output.find_all(nodes.Name)
        }
        if "body_html" not in printed:
            return [
                EditProblem("blocks", "the layout must show {{ body_html }}: the letter itself")
            ]
        return []
    blocks = {block.name for block in tree.find_all(nodes.Block)}
    return [
        EditProblem("blocks", f"the template needs a {{% block {name} %}}")
        for name in ("subject", "body")
        if name not in blocks
    ]


def _letters_using(slot: TemplateSlot) -> list[tuple[str, str]]:
    """The (kind, locale) letters an edit of this template changes; the layout: one per locale."""
    if slot.kind is None or slot.locale is None:
        return [(LetterKind.REJECTION.value, locale) for locale in SUPPORTED_LOCALES]
    return [(slot.kind, slot.locale)]

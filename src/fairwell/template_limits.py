"""Limits on rendering a template: time, output size, loop iterations, and the size of numbers.

Jinja's sandbox stops a template from reaching Python internals, but not from working for
hours (two nested loops over ``range(100000)``) or building a 100 MB string (``"x" * 10**8``).
An edited template is untrusted input, so every render runs under a :class:`Budget`:

* every ``{% for %}`` counts its iterations (the loop's iterable is wrapped by a token-stream
  extension, so no template can loop uncounted), at most ``MAX_ITERATIONS`` per letter;
* every call, filter, ``*``, ``**`` and ``%`` checks the numbers it is given
  (``MAX_NUMBER``) and the size of what it would build (``MAX_OUTPUT``);
* the output is counted as it is produced, at most ``MAX_OUTPUT`` characters;
* all of these check the clock: a letter that takes longer than ``MAX_SECONDS`` stops.

What exceeds a limit raises :class:`TemplateLimitError`, a Jinja ``SecurityError``, so every
place that already reports a broken template reports it in words, and nothing pegs a worker.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import pass_context
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_BLOCK_BEGIN,
    TOKEN_BLOCK_END,
    TOKEN_LBRACE,
    TOKEN_LBRACKET,
    TOKEN_LPAREN,
    TOKEN_NAME,
    TOKEN_PIPE,
    TOKEN_RBRACE,
    TOKEN_RBRACKET,
    TOKEN_RPAREN,
    Token,
    TokenStream,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_ITERATIONS = 100_000  # loop iterations in one letter (the built-in ones need a few dozen)
MAX_NUMBER = 100_000  # any number given to a call, a filter or a repetition
MAX_OUTPUT = 200_000  # characters of one rendered part (a letter is a few thousand)
MAX_SECONDS = 2.0  # one letter; real ones take about a millisecond
MAX_POWER = 64
COUNTED = "fairwell_counted"  # the filter every loop's iterable passes through
_CLOCK_EVERY = 256
_WIDE_FORMAT = re.compile(r"[%{][^%{}]*?\d{6,}")


class TemplateLimitError(SecurityError):
    """A template asked for more work than any letter needs; it was stopped."""


@dataclass
class Budget:
    """What one render may still spend."""

    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)
    iterations: int = 0
    ticks: int = 0

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise TemplateLimitError(
                f"the template took longer than {MAX_SECONDS:g} seconds for one letter"
            )

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise TemplateLimitError(
                f"the template loops more than {MAX_ITERATIONS:,} times for one letter"
            )
        self.tick()


_CURRENT: ContextVar[Budget | None] = ContextVar("fairwell_template_budget", default=None)


@contextmanager
def budget() -> Iterator[Budget]:
    """A fresh budget for one letter (nested renders share the outer one)."""
    outer = _CURRENT.get()
    if outer is not None:
        yield outer
        return
    mine = Budget()
    token = _CURRENT.set(mine)
    try:
        yield mine
    finally:
        _CURRENT.reset(token)


def _current() -> Budget:
    # Outside budget() (a template rendered directly) each check gets a fresh budget: still
    # limited, just not summed over the letter.
    found = _CURRENT.get()
    return found if found is not None else Budget()


def _check_number(value: object) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise TemplateLimitError(f"the number {value:,} is larger than a letter needs")


def _check_size(size: int) -> None:
    if size > MAX_OUTPUT:
        raise TemplateLimitError(
            f"the template would build more than {MAX_OUTPUT:,} characters for one letter"
        )


def _check_format(text: object) -> None:
    if isinstance(text, str) and _WIDE_FORMAT.search(text):
        raise TemplateLimitError("a format width in the template is larger than a letter needs")


def joined(pieces: Iterable[str]) -> str:
    """The rendered output, counted as it is produced."""
    spend = _current()
    out: list[str] = []
    size = 0
    for piece in pieces:
        size += len(piece)
        _check_size(size)
        spend.tick()
        out.append(piece)
    return "".join(out)


@pass_context
def counted(context: Context, iterable: Any) -> Iterator[Any]:
    """The loop's items, one at a time, each counted against the budget."""
    spend = _current()
    for item in iterable:
        spend.iteration()
        yield item


def limited_range(*args: int) -> range:
    for value in args:
        _check_number(value)
    found = range(*args)
    _check_size(len(found))
    _current().tick()
    return found


def _guarded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        spend = _current()
        spend.tick()
        for value in (*args[1:], *kwargs.values()):
            _check_number(value)
        if name == "format":
            for value in args[:2]:
                _check_format(value)
        result = original(*args, **kwargs)
        if isinstance(result, (str, list, tuple)):
            _check_size(len(result))
        return result

    # Jinja passes the context, eval context or environment by these markers.
    for marker in ("jinja_pass_arg",):
        if hasattr(original, marker):
            setattr(guarded, marker, getattr(original, marker))
    guarded.__name__ = getattr(original, "__name__", "filter")
    return guarded


class LoopCounter(Extension):
    """Wraps every ``{% for x in EXPR %}`` as ``{% for x in (EXPR)|fairwell_counted %}``.

    The iterable ends at ``if``, ``recursive`` or the end of the tag, at bracket depth 0
    (Jinja allows no conditional expression there), so the wrapping is exact.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        previous: Token | None = None
        inside, depth = False, 0
        in_for_tag = False
        for token in stream:
            if previous is not None and previous.type == TOKEN_BLOCK_BEGIN:
                in_for_tag = token.type == TOKEN_NAME and token.value == "for"
            if in_for_tag and not inside and token.type == TOKEN_NAME and token.value == "in":
                yield token
                yield Token(token.lineno, TOKEN_LPAREN, "(")
                inside, depth, previous = True, 0, token
                continue
            if inside:
                if token.type in (TOKEN_LPAREN, TOKEN_LBRACKET, TOKEN_LBRACE):
                    depth += 1
                elif token.type in (TOKEN_RPAREN, TOKEN_RBRACKET, TOKEN_RBRACE):
                    depth -= 1
                ends = token.type == TOKEN_BLOCK_END or (
                    depth == 0 and token.type == TOKEN_NAME and token.value in ("if", "recursive")
                )
                if ends:
                    yield Token(token.lineno, TOKEN_RPAREN, ")")
                    yield Token(token.lineno, TOKEN_PIPE, "|")
                    yield Token(token.lineno, TOKEN_NAME, COUNTED)
                    inside, in_for_tag = False, False
            yield token
            previous = token


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every loop counted and every call and operator checked."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        extensions = [*options.pop("extensions", ()), LoopCounter]
        super().__init__(extensions=extensions, **options)
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters[COUNTED] = counted
        self.globals.pop("lipsum", None)  # generates paragraphs by the thousand; no letter needs it
        self.globals["range"] = limited_range

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _current().tick()
        if operator == "*":
            for value, other in ((left, right), (right, left)):
                if isinstance(value, (str, list, tuple)) and isinstance(other, int):
                    _check_number(other)
                    _check_size(len(value) * max(other, 0))
        elif operator == "**":
            if isinstance(right, int) and right > MAX_POWER:
                raise TemplateLimitError(f"a power above {MAX_POWER} is larger than a letter needs")
            _check_number(left)
        elif operator == "%":
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``"...".format(...)`` in a template: its widths are checked before it runs."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_format(value.__self__)
        return wrapped

    def call(self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _current().tick()
        for value in (*args, *kwargs.values()):
            _check_number(value)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, (str, list, tuple)):
            _check_size(len(result))
        return result

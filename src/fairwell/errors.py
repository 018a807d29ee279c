"""Exception roots.

Everything Fairwell raises on purpose derives from :class:`FairwellError`, so a caller can
catch "our" failures in one place. :class:`ConfigurationError` deliberately does *not*: a
broken configuration must never be swallowed by code that handles ordinary failures.
"""


class FairwellError(Exception):
    """Root of every error Fairwell raises on purpose."""


class ConfigurationError(Exception):
    """The settings are unusable. Not a FairwellError, so nothing swallows it."""


class NotFound(FairwellError, LookupError):
    """A job, person or letter that the caller named does not exist."""


class InvalidInput(FairwellError, ValueError):
    """Input that Fairwell refuses, with a message that says where and why."""


class AlreadyQueued(InvalidInput):
    """A letter for the same thing (the same letter key) is in the outbox already.

    The outbox's unique letter key is what makes two racing senders send once; the loser
    gets this error rather than a database one.
    """

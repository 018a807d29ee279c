"""How often a Fairwell process collects its cyclic garbage (standard library only: the CLI
imports it before anything else).

Composing, delivering and importing make objects fast, and nearly all of them are freed by
their last reference going, not by the collector. Python's default (a collection of young
objects every 700 net allocations) then walks the same survivors again and again: 15-25% of a
composing process's CPU with 10,000 to 100,000 people on file (measured with gc.callbacks).
"""

from __future__ import annotations

import gc

# Net allocations between two collections of young objects (Python's default: 700).
YOUNG_OBJECTS = 10_000


def collect_less() -> None:
    """Collect young objects every YOUNG_OBJECTS net allocations; the older generations as
    Python does, in proportion."""
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


def freeze_long_lived() -> None:
    """Leave every object alive now (libraries, the runtime, a roster of everyone on file) out
    of all later collections. Only for a process whose long-lived objects are made by now and
    that ends with its command: what it froze is never collected."""
    gc.freeze()

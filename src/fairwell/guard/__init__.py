"""The privacy guard: named rules over a letter's final bytes, and the rosters they search.

``privacy`` holds the rules and the guard that runs them (when a plan is made and again in
the worker, on the bytes that go on the wire); ``roster`` the Aho-Corasick roster of everyone
on file, ``compact_roster`` its hashed form for very large organisations; ``applied_wording``
the words a referred or sourced person must never read. Like ``domain``: pure Python and small
pure libraries, no SQL, no network, no clock.
"""

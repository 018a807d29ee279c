"""`fairwell demo`: the whole flow on synthetic data, verified from what the sink received.

``flow`` runs it (import, decide, draft, plan, send, verify, mail coming back) and serves the
web app on its data; ``data`` writes the synthetic applicants and scorecards; ``web`` seeds
the second opening the browser demo adds; ``inbox`` writes the replies and bounces that come
back. Nothing outside this package imports it, the CLI's `demo` command aside.
"""

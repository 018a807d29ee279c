"""Applicant tracking systems: one folder per vendor, beside a shared HTTP client.

Each vendor folder holds what Fairwell knows about that vendor, as data where it can be:

- ``profile.toml``: how the vendor's candidate export (and its API's values) map onto
  Fairwell's fields: columns, stage names, sources, dates (services/export_profiles.py
  reads it);
- ``reasons.toml``: the vendor's rejection or archive reason for each reason code, used when
  a decision is written back (services/ats_reasons.py; overridden by
  ``FAIRWELL_ATS_REASON_MAP``);
- ``connector.py`` and ``webhooks.py`` for vendors Fairwell talks to: the API client (pull,
  write-back) and the verification of the vendor's signed webhooks.

Adding a vendor whose export Fairwell should read means adding a folder with a
``profile.toml``; nothing else lists the vendors (``export_profiles.vendor_names`` finds the
folders). The shared parts: :mod:`.http` (requests with retries and ``Retry-After``) and
:mod:`.registry` (a vendor's connector by name). This package is an adapter, like storage and
delivery: the services reach it through the seams of fairwell.ports.ats and
fairwell.ports.webhooks, and the runtime builds its connectors.
"""

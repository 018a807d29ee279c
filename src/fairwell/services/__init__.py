"""Use cases: one transaction each, over the ports in :mod:`fairwell.ports`."""

"""Fairwell: private, honest, timely letters to every applicant who is not hired."""

__version__ = "0.1.0"

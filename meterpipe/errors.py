"""Errors an operator can act on. The CLI prints their message as one line and exits non-zero."""

from __future__ import annotations


class MeterpipeError(Exception):
    """Base class of every error the CLI turns into a clean message."""


class InvalidDateError(MeterpipeError, ValueError):
    """A date option or argument is not a real YYYY-MM-DD date, or a range is inverted."""

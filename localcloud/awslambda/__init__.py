"""localcloud's Lambda: the Lambda API (REST-JSON, botocore's model) for Python functions, each
running in its own worker processes. Kept import-light: worker processes import this package."""

from __future__ import annotations

"""localcloud: an offline stand-in for the AWS services a Step Functions + Athena + Lambda
pipeline uses. General purpose: nothing in this package knows about meters."""

from __future__ import annotations

__all__: list[str] = []

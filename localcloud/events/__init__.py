"""localcloud's EventBridge: rules with event patterns on the default event bus, delivering to
state machines and Lambda functions, and the status-change events localcloud's services emit."""

from __future__ import annotations

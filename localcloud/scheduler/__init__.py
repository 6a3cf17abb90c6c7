"""localcloud's EventBridge Scheduler: schedules and groups, fired on localcloud's clock."""

from __future__ import annotations

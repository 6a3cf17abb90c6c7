"""meterpipe: smart-meter readings to per-customer hourly, daily and monthly kWh rollups."""

from __future__ import annotations

__version__ = "0.1.0"

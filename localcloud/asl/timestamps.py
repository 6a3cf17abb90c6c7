"""RFC 3339 timestamps as Step Functions accepts them (Wait's Timestamp, Choice's Timestamp rules)."""

from __future__ import annotations

import datetime as dt
import re

# The guide: "an uppercase T must separate the date and time portions, and an uppercase Z must
# denote that a numeric time zone offset is not present" (Wait state and Choice rules).
_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(text: object) -> dt.datetime | None:
    """The instant ``text`` names, or None when it is not an RFC 3339 timestamp."""
    if not isinstance(text, str):
        return None
    m = _RFC3339.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    fraction = m.group(7) or ""
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    zone = m.group(8)
    if zone == "Z":
        tz = dt.UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None

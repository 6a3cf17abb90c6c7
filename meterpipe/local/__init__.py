"""meterpipe on one machine: start/stop localcloud for a home folder and deploy the project to it
from the same specs as CDK."""

from __future__ import annotations

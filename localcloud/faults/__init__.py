"""Fault rehearsal: errors, throttling, unprocessed batch items and delays set on a running
localcloud, applied to matching calls wherever they come from (an SDK client, a state machine's
integration, a Lambda function's own SDK calls), in each service's protocol.

Set them with ``meterpipe local faults add``, the control API (``/_localcloud/faults``) or
``localcloud.control.add_fault``."""

from __future__ import annotations

from localcloud.faults.model import SERVICES, Fault, FaultSpecError, UnknownFault
from localcloud.faults.registry import Decision, Faults

__all__ = ["SERVICES", "Decision", "Fault", "FaultSpecError", "Faults", "UnknownFault"]

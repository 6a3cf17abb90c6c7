"""localcloud's Amazon States Language interpreter: a general library (see README.md).

Parse/validate: :func:`parse_definition`, :func:`validate_definition`. Run: :class:`ExecutionHost`.
Time: :class:`RealClock`, :class:`VirtualClock`.
"""

from __future__ import annotations

from localcloud.asl.clock import Clock, RealClock, VirtualClock
from localcloud.asl.definition import StateMachine, parse_definition, validate_definition
from localcloud.asl.distributed.map_run import MapRun, MapRunNotFound
from localcloud.asl.errors import DefinitionError, Problem, StatesFailure
from localcloud.asl.host import ExecutionHost
from localcloud.asl.integrations import Integration, IntegrationFactory, TaskRequest
from localcloud.asl.registrations import default_factory
from localcloud.asl.service_errors import (
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionNotRedrivable,
    StateMachineDoesNotExist,
)
from localcloud.asl.store import ExecutionRecord, ExecutionStore, InMemoryExecutionStore

__all__ = [
    "Clock",
    "DefinitionError",
    "ExecutionAlreadyExists",
    "ExecutionHost",
    "ExecutionNotFound",
    "ExecutionNotRedrivable",
    "ExecutionRecord",
    "ExecutionStore",
    "InMemoryExecutionStore",
    "Integration",
    "IntegrationFactory",
    "MapRun",
    "MapRunNotFound",
    "Problem",
    "RealClock",
    "StateMachine",
    "StateMachineDoesNotExist",
    "StatesFailure",
    "TaskRequest",
    "VirtualClock",
    "default_factory",
    "parse_definition",
    "validate_definition",
]

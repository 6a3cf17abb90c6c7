"""Succeed: ends its branch (or the execution) successfully."""

from __future__ import annotations

from localcloud.asl.states.base import State


class SucceedState(State):
    type_name = "Succeed"
    jsonpath_fields = {"InputPath", "OutputPath"}
    jsonata_fields = {"Output"}
    terminal = True

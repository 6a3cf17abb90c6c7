"""State type name -> the class that parses and runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import pointer, state_language
from localcloud.asl.states.base import State
from localcloud.asl.states.choice import ChoiceState
from localcloud.asl.states.fail import FailState
from localcloud.asl.states.map_state import MapState
from localcloud.asl.states.parallel import ParallelState
from localcloud.asl.states.pass_state import PassState
from localcloud.asl.states.succeed import SucceedState
from localcloud.asl.states.task import TaskState
from localcloud.asl.states.wait import WaitState

if TYPE_CHECKING:
    from localcloud.asl.definition import ParseContext

STATE_CLASSES: dict[str, type[State]] = {
    cls.type_name: cls
    for cls in (
        PassState,
        TaskState,
        ChoiceState,
        WaitState,
        SucceedState,
        FailState,
        ParallelState,
        MapState,
    )
}


def parse_state(name: str, raw: dict[str, Any], at: str, pctx: ParseContext) -> State | None:
    check = pctx.check
    type_name = raw.get("Type")
    if "Type" not in raw:
        check.add(at, "These fields are required: [Type]")
        return None
    if type_name not in STATE_CLASSES:
        check.add(
            pointer(at, "Type"),
            f"The value for the field 'Type' must be one of {', '.join(sorted(STATE_CLASSES))}; "
            f"got {type_name!r}",
        )
        return None
    language = state_language(raw, at, check, pctx.top_language)
    state = STATE_CLASSES[type_name](name, raw, at, check, language)
    state.setup(pctx)
    return state

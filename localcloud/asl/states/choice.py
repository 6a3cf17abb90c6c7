"""Choice: picks the next state from rules (JSONPath comparison rules or JSONata Conditions)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import NO_CHOICE_MATCHED, QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from localcloud.asl.jsonpath import PathNotFound, evaluate_path
from localcloud.asl.states.base import MISSING, State, StateRun, Transition
from localcloud.asl.timestamps import parse_timestamp

_KINDS = ("String", "Numeric", "Boolean", "Timestamp")
_OPS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")

# Comparison operator -> (kind of operand, how to compare).
COMPARISONS: dict[str, tuple[str, str]] = {}
for _kind in _KINDS:
    for _op in _OPS:
        if _kind == "Boolean" and _op != "Equals":
            continue
        COMPARISONS[f"{_kind}{_op}"] = (_kind, _op)
        COMPARISONS[f"{_kind}{_op}Path"] = (_kind, _op)
COMPARISONS["StringMatches"] = ("String", "Matches")
TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")


class Rule:
    """One JSONPath Choice rule (possibly nested through And/Or/Not)."""

    def __init__(
        self, raw: dict[str, Any], path: str, check: Checker, *, top: bool, state: ChoiceState
    ) -> None:
        self.next: str | None = None
        self.assign: dict[str, Any] | None = None
        self.combinator: str | None = None
        self.children: list[Rule] = []
        self.variable: str | None = None
        self.operator: str | None = None
        self.operand: Any = None
        allowed = {"Comment", "Variable", "And", "Or", "Not", *COMPARISONS, *TYPE_TESTS}
        if top:
            allowed |= {"Next", "Assign"}
            self.next = check.string(raw, "Next", path, required=True)
            self.assign = check.assign(raw, path, state.language)
        check.allowed_fields(raw, allowed, path, "a Choice rule")
        combinators = [k for k in ("And", "Or", "Not") if k in raw]
        operators = [k for k in raw if k in COMPARISONS or k in TYPE_TESTS]
        if combinators:
            if len(combinators) > 1 or operators or "Variable" in raw:
                check.add(path, "A Choice rule must have exactly one of And, Or, Not or a comparison")
            key = combinators[0]
            self.combinator = key
            value = raw[key]
            if key == "Not":
                if not isinstance(value, dict):
                    check.add(pointer(path, key), "The value for the field 'Not' must be an OBJECT")
                else:
                    self.children.append(Rule(value, pointer(path, key), check, top=False, state=state))
            elif not isinstance(value, list) or not value:
                check.add(pointer(path, key), f"The value for the field '{key}' must be a non-empty LIST")
            else:
                for i, item in enumerate(value):
                    at = pointer(path, key, i)
                    if not isinstance(item, dict):
                        check.add(at, "A Choice rule must be an OBJECT")
                        continue
                    self.children.append(Rule(item, at, check, top=False, state=state))
            return
        variable = check.string(raw, "Variable", path, required=True)
        if variable is not None:
            check.jsonpath_text(variable, pointer(path, "Variable"), "Variable")
            self.variable = variable
        if len(operators) != 1:
            check.add(path, "A Choice rule must have exactly one comparison operator")
            return
        op = operators[0]
        self.operator = op
        self.operand = raw[op]
        at = pointer(path, op)
        if op in TYPE_TESTS:
            if not isinstance(self.operand, bool):
                check.add(at, f"The value for the field '{op}' must be a BOOLEAN")
            return
        kind, _ = COMPARISONS[op]
        if op.endswith("Path"):
            if isinstance(self.operand, str):
                check.jsonpath_text(self.operand, at, op)
            else:
                check.add(at, f"The value for the field '{op}' must be a valid JSONPath")
        elif kind == "String" and not isinstance(self.operand, str):
            check.add(at, f"The value for the field '{op}' must be a STRING")
        elif kind == "Numeric" and (
            isinstance(self.operand, bool) or not isinstance(self.operand, int | float)
        ):
            check.add(at, f"The value for the field '{op}' must be a NUMBER")
        elif kind == "Boolean" and not isinstance(self.operand, bool):
            check.add(at, f"The value for the field '{op}' must be a BOOLEAN")
        elif kind == "Timestamp" and parse_timestamp(self.operand) is None:
            check.add(at, f"The value for the field '{op}' must be a valid RFC3339 timestamp")

    def evaluate(self, read: Callable[[str], Any]) -> bool:
        if self.combinator == "And":
            return all(child.evaluate(read) for child in self.children)
        if self.combinator == "Or":
            return any(child.evaluate(read) for child in self.children)
        if self.combinator == "Not":
            return not self.children[0].evaluate(read)
        assert self.variable is not None and self.operator is not None
        op = self.operator
        if op == "IsPresent":
            try:
                read(self.variable)
                present = True
            except PathNotFound:
                present = False
            return bool(present == self.operand)
        try:
            value = read(self.variable)
        except PathNotFound as exc:
            raise StatesFailure(
                RUNTIME,
                f"Invalid path '{self.variable}': "
                "The choice state's condition path references an invalid value.",
            ) from exc
        if op in TYPE_TESTS:
            return bool(_type_test(op, value) == self.operand)
        kind, how = COMPARISONS[op]
        operand = self.operand
        if op.endswith("Path"):
            try:
                operand = read(operand)
            except PathNotFound as exc:
                raise StatesFailure(
                    RUNTIME,
                    f"Invalid path '{self.operand}': "
                    "The choice state's condition path references an invalid value.",
                ) from exc
        return _compare(kind, how, value, operand)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_test(op: str, value: Any) -> bool:
    if op == "IsNull":
        return value is None
    if op == "IsNumeric":
        return _is_number(value)
    if op == "IsString":
        return isinstance(value, str)
    if op == "IsBoolean":
        return isinstance(value, bool)
    return parse_timestamp(value) is not None  # IsTimestamp


def _compare(kind: str, how: str, value: Any, operand: Any) -> bool:
    # A value of the wrong type never matches (the spec: comparisons of mismatched types are false).
    if kind == "String":
        if not isinstance(value, str) or not isinstance(operand, str):
            return False
        if how == "Matches":
            return _matches(value, operand)
        a, b = value, operand
    elif kind == "Numeric":
        if not _is_number(value) or not _is_number(operand):
            return False
        a, b = value, operand
    elif kind == "Boolean":
        return isinstance(value, bool) and isinstance(operand, bool) and value == operand
    else:
        ta, tb = parse_timestamp(value), parse_timestamp(operand)
        if ta is None or tb is None:
            return False
        return _order(how, ta, tb)
    return _order(how, a, b)


def _order(how: str, a: Any, b: Any) -> bool:
    if how == "Equals":
        return bool(a == b)
    if how == "LessThan":
        return bool(a < b)
    if how == "GreaterThan":
        return bool(a > b)
    if how == "LessThanEquals":
        return bool(a <= b)
    return bool(a >= b)


def _matches(value: str, pattern: str) -> bool:
    # '*' is a wildcard; '\*' a literal star and '\\' a literal backslash.
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(out), value, re.DOTALL) is not None


class JsonataRule:
    def __init__(self, raw: dict[str, Any], path: str, check: Checker, state: ChoiceState) -> None:
        check.allowed_fields(
            raw, {"Condition", "Next", "Assign", "Output", "Comment"}, path, "a JSONata Choice rule"
        )
        self.next = check.string(raw, "Next", path, required=True)
        self.condition: Any = raw.get("Condition")
        if "Condition" not in raw:
            check.add(path, "These fields are required: [Condition]")
        elif isinstance(self.condition, str):
            check.jsonata_template(self.condition, pointer(path, "Condition"))
        elif not isinstance(self.condition, bool):
            check.add(
                pointer(path, "Condition"),
                "The value for the field 'Condition' must be a JSONata expression or a BOOLEAN",
            )
        self.output: Any = raw.get("Output", MISSING)
        if self.output is not MISSING:
            check.jsonata_template(self.output, pointer(path, "Output"))
        self.assign = check.assign(raw, path, state.language)


class ChoiceState(State):
    type_name = "Choice"
    jsonpath_fields = {"Choices", "Default", "InputPath", "OutputPath", "Assign"}
    jsonata_fields = {"Choices", "Default", "Output", "Assign"}
    terminal = True  # no Next/End of its own: its rules and Default say where to go

    def parse(self, check: Checker) -> None:
        raw, path = self.raw, self.path
        self.default = check.string(raw, "Default", path)
        self.rules: list[Rule] = []
        self.jsonata_rules: list[JsonataRule] = []
        choices = raw.get("Choices")
        if "Choices" not in raw:
            check.add(path, "These fields are required: [Choices]")
        elif not isinstance(choices, list) or not choices:
            check.add(pointer(path, "Choices"), "The value for the field 'Choices' must be a non-empty LIST")
        else:
            for i, item in enumerate(choices):
                at = pointer(path, "Choices", i)
                if not isinstance(item, dict):
                    check.add(at, "A Choice rule must be an OBJECT")
                elif self.jsonata:
                    self.jsonata_rules.append(JsonataRule(item, at, check, self))
                else:
                    self.rules.append(Rule(item, at, check, top=True, state=self))

    def transitions(self) -> list[tuple[str, str]]:
        out = []
        nexts = [r.next for r in self.jsonata_rules] if self.jsonata else [r.next for r in self.rules]
        for i, target in enumerate(nexts):
            if target:
                out.append((pointer(self.path, "Choices", i, "Next"), target))
        if self.default:
            out.append((pointer(self.path, "Default"), self.default))
        return out

    def assigned_variables(self) -> dict[str, str]:
        found = super().assigned_variables()
        rules: list[Rule | JsonataRule] = [*self.rules, *self.jsonata_rules]
        for i, rule in enumerate(rules):
            for key in rule.assign or {}:
                name = key[:-2] if key.endswith(".$") and not self.jsonata else key
                found.setdefault(name, pointer(self.path, "Choices", i, "Assign", key))
        return found

    def run_once(self, run: StateRun) -> Transition:
        if self.jsonata:
            return self._run_jsonata(run)
        data = run.effective_input()
        context = run.context

        def read(text: str) -> Any:
            return evaluate_path(
                text, data, context=context() if text.startswith("$$") else None, variables=run.variable
            )

        chosen: Rule | None = next((rule for rule in self.rules if rule.evaluate(read)), None)
        if chosen is None and self.default is None:
            raise StatesFailure(NO_CHOICE_MATCHED, "No Matches!")
        assign = chosen.assign if chosen is not None and chosen.assign is not None else self.assign
        pending = run.template(assign, data) if assign else None
        output = run.apply_output_path(data)
        run.commit(pending)
        return Transition(chosen.next if chosen is not None else self.default, output)

    def _run_jsonata(self, run: StateRun) -> Transition:
        chosen: JsonataRule | None = None
        for i, rule in enumerate(self.jsonata_rules):
            value = (
                run.jsonata(rule.condition, f"Choices[{i}].Condition")
                if isinstance(rule.condition, str)
                else rule.condition
            )
            if not isinstance(value, bool):
                raise StatesFailure(
                    QUERY_EVALUATION_ERROR,
                    f"The Condition of Choices[{i}] must evaluate to a boolean, got {type(value).__name__}",
                )
            if value:
                chosen = rule
                break
        if chosen is None and self.default is None:
            raise StatesFailure(NO_CHOICE_MATCHED, "No Matches!")
        output_template = (
            chosen.output if chosen is not None and chosen.output is not MISSING else self.output
        )
        assign = chosen.assign if chosen is not None and chosen.assign is not None else self.assign
        output = run.jsonata(output_template, "Output") if output_template is not MISSING else run.raw_input
        pending = run.jsonata(assign, "Assign") if assign else None
        run.commit(pending)
        return Transition(chosen.next if chosen is not None else self.default, output)

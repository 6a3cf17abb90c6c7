"""Step Functions Local's mocked service integrations, in its own file format.

The format (the guide's "Configuration file for mocked service integrations"):

```json
{
  "StateMachines": {"<state machine name>": {"TestCases": {"<test case>": {"<state>": "<mocked response>"}}}},
  "MockedResponses": {
    "<mocked response>": {
      "0": {"Return": <any JSON>},
      "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}}
    }
  }
}
```

A test case is chosen when an execution starts (``<state machine ARN>#<test case>``); each Task
state it names answers from its mocked response instead of calling the service. Invocations are
counted as Step Functions Local counts them: one counter per state per execution, advanced by every
invocation, retries included and across Map iterations (iteration 2 of a Map with MaxConcurrency 1
gets the next entry after iteration 1's). A Task the test case does not name calls its service.

Rules followed from Step Functions Local (suites written for it rely on them; AWS has no such file):

- ``Return`` may be any JSON value and is not checked against the service's response shape; it is
  the task's result (for a bare Lambda function ARN, the ``Payload`` of the mocked Invoke response);
- ``Throw`` fails the task with that error and cause (Retry and Catch see them as usual);
- an invocation with no entry, or a state naming a mocked response the file does not define, fails
  the execution with ``States.Runtime`` when that state runs, not before (a file with unused or empty
  entries runs as long as nothing reaches them);
- a ``.waitForTaskToken`` task gets its token (``$$.Task.Token`` resolves) and is answered at once
  by the mock; a ``.sync`` task's mock is the finished job's result. Both record ``TaskSubmitted``
  with the mocked result before it succeeds; a mocked ``Throw`` fails the call itself, so no
  ``TaskSubmitted`` is recorded.

What localcloud refuses that Step Functions Local might take is refused when the file is read, with
every problem and its JSON Pointer: a key that is not an invocation number or range, overlapping
ranges, an entry with both or neither of ``Return``/``Throw``, a ``Throw`` without a string
``Error``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.asl.errors import RUNTIME, StatesFailure

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_MISSING: Any = object()


class MockConfigError(ValueError):
    """A mock configuration that cannot be used: every problem, each with its JSON Pointer."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class UnknownTestCase(LookupError):
    """StartExecution named a test case the mock configuration does not have (Step Functions
    Local's "No mock map found for test <name>")."""


@dataclass(frozen=True)
class MockedEntry:
    """One key of a mocked response: invocations ``first``..``last`` (inclusive)."""

    first: int
    last: int
    returns: Any = _MISSING
    error: str = ""
    cause: str = ""

    @property
    def throws(self) -> bool:
        return self.returns is _MISSING


class MockedAnswer:
    """What a mocked Task does this invocation: return ``value`` or fail with ``error``/``cause``."""

    __slots__ = ("entry",)

    def __init__(self, entry: MockedEntry) -> None:
        self.entry = entry

    @property
    def value(self) -> Any:
        return None if self.entry.throws else self.entry.returns

    def raise_if_thrown(self) -> None:
        if self.entry.throws:
            raise StatesFailure(self.entry.error, self.entry.cause)


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


class MockConfig:
    """A parsed mock configuration. Raises :class:`MockConfigError` naming every problem."""

    def __init__(self, data: Any, source: str = "mock configuration") -> None:
        problems: list[str] = []
        self.source = source
        self.test_cases: dict[str, dict[str, dict[str, str]]] = {}
        self.responses: dict[str, tuple[MockedEntry, ...]] = {}
        if not isinstance(data, dict):
            raise MockConfigError(source, ["the mock configuration must be a JSON object"])
        for key in data:
            if key not in ("StateMachines", "MockedResponses"):
                problems.append(
                    f"{_pointer(key)}: unknown field (expected StateMachines and MockedResponses)"
                )
        self._read_machines(data.get("StateMachines", {}), problems)
        self._read_responses(data.get("MockedResponses", {}), problems)
        if problems:
            raise MockConfigError(source, problems)

    @classmethod
    def from_file(cls, path: Path) -> MockConfig:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise MockConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MockConfigError(str(path), [f"not JSON: {exc}"]) from exc
        return cls(data, str(path))

    def _read_machines(self, machines: Any, problems: list[str]) -> None:
        if not isinstance(machines, dict):
            problems.append("/StateMachines: must be an object of state machine names")
            return
        for machine, spec in machines.items():
            at = _pointer("StateMachines", machine)
            cases = spec.get("TestCases") if isinstance(spec, dict) else None
            if not isinstance(cases, dict):
                problems.append(f"{at}: must be an object with a TestCases object")
                continue
            self.test_cases[machine] = {}
            for case, states in cases.items():
                where = f"{at}/TestCases{_pointer(case)}"
                if not isinstance(states, dict) or not all(isinstance(v, str) for v in states.values()):
                    problems.append(f"{where}: must map state names to mocked response names")
                    continue
                self.test_cases[machine][case] = dict(states)

    def _read_responses(self, responses: Any, problems: list[str]) -> None:
        if not isinstance(responses, dict):
            problems.append("/MockedResponses: must be an object of mocked responses")
            return
        for name, entries in responses.items():
            at = _pointer("MockedResponses", name)
            if not isinstance(entries, dict):
                problems.append(f'{at}: must be an object keyed by invocation numbers ("0", "1-2")')
                continue
            parsed = [e for e in (_entry(key, value, at, problems) for key, value in entries.items()) if e]
            parsed.sort(key=lambda e: e.first)
            for before, after in itertools.pairwise(parsed):
                if after.first <= before.last:
                    problems.append(
                        f"{at}: invocations {before.first}-{before.last} and "
                        f"{after.first}-{after.last} overlap"
                    )
            self.responses[name] = tuple(parsed)

    def test_case(self, machine: str, case: str) -> MockTestCase:
        """The test case ``case`` of state machine ``machine``; raises :class:`UnknownTestCase`."""
        cases = self.test_cases.get(machine)
        if cases is None or case not in cases:
            known = ", ".join(sorted(cases)) if cases else "none"
            raise UnknownTestCase(
                f"No mock map found for test {case}: the mock configuration {self.source} has no test case "
                f"'{case}' for state machine '{machine}' (its test cases: {known})"
            )
        return MockTestCase(machine, case, cases[case], self.responses)


def _entry(key: str, value: Any, at: str, problems: list[str]) -> MockedEntry | None:
    where = f"{at}{_pointer(key)}"
    match = _RANGE.match(key)
    if match is None:
        problems.append(f'{where}: not an invocation number or range ("0", "1-2")')
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        problems.append(f"{where}: the range ends before it starts")
        return None
    if not isinstance(value, dict) or len({"Return", "Throw"} & set(value)) != 1 or len(value) != 1:
        problems.append(f"{where}: must hold exactly one of Return or Throw")
        return None
    if "Return" in value:
        return MockedEntry(first, last, returns=value["Return"])
    throw = value["Throw"]
    if not isinstance(throw, dict) or not isinstance(throw.get("Error"), str):
        problems.append(f"{where}/Throw: must be an object with a string Error (and a string Cause)")
        return None
    cause = throw.get("Cause", "")
    if not isinstance(cause, str):
        problems.append(f"{where}/Throw/Cause: must be a string")
        return None
    return MockedEntry(first, last, error=throw["Error"], cause=cause)


@dataclass(frozen=True)
class MockTestCase:
    """One test case: which state answers from which mocked response."""

    machine: str
    name: str
    states: dict[str, str]
    responses: dict[str, tuple[MockedEntry, ...]]

    def answer(self, state: str, invocation: int) -> MockedAnswer:
        response = self.states[state]
        entries = self.responses.get(response)
        if entries is None:
            raise StatesFailure(
                RUNTIME,
                f"The test case '{self.name}' mocks the state '{state}' with the mocked response "
                f"'{response}', which the mock configuration does not define",
            )
        for entry in entries:
            if entry.first <= invocation <= entry.last:
                return MockedAnswer(entry)
        defined = ", ".join(str(e.first) if e.first == e.last else f"{e.first}-{e.last}" for e in entries)
        raise StatesFailure(
            RUNTIME,
            f"The mocked response '{response}' has no entry for invocation {invocation} of the state "
            f"'{state}' (test case '{self.name}'; it defines invocations: {defined or 'none'})",
        )


class MockSession:
    """The mocks of one execution: its test case and its invocation counters.

    ``spec`` is what the execution record keeps (``record.extra["mock"]``: the state machine, the
    test case and the counters), so a redriven execution counts on, and a Distributed Map's child
    executions share the counters of the execution that started them."""

    def __init__(self, spec: dict[str, Any], test_case: MockTestCase | None, problem: str = "") -> None:
        self.spec = spec
        self.test_case = test_case
        self.problem = problem
        self.counts: dict[str, int] = spec.setdefault("counts", {})
        self._lock = threading.Lock()

    @classmethod
    def start(cls, test_case: MockTestCase) -> MockSession:
        return cls({"state_machine": test_case.machine, "test_case": test_case.name, "counts": {}}, test_case)

    def take(self, state: str) -> MockedAnswer | None:
        """This invocation's answer for ``state``, or None when the test case does not mock it."""
        if self.test_case is None:
            raise StatesFailure(RUNTIME, self.problem)
        if state not in self.test_case.states:
            return None
        with self._lock:
            invocation = self.counts.get(state, 0)
            self.counts[state] = invocation + 1
        return self.test_case.answer(state, invocation)


class MockConfigFile:
    """A mock configuration file, read again whenever it changes (edits apply to the next
    execution). ``current()`` raises :class:`MockConfigError` when the file is (now) unusable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[float, int] | None = None
        self._config: MockConfig | None = None
        self._lock = threading.Lock()

    def current(self) -> MockConfig:
        with self._lock:
            try:
                stat = self.path.stat()
            except OSError as exc:
                raise MockConfigError(
                    str(self.path), [f"cannot read the file: {exc.strerror or exc}"]
                ) from exc
            stamp = (stat.st_mtime, stat.st_size)
            if self._config is None or stamp != self._stamp:
                self._config = MockConfig.from_file(self.path)
                self._stamp = stamp
            return self._config


MockProvider = Callable[[], MockConfig | None]


def session_for(spec: dict[str, Any], provider: MockProvider | None) -> MockSession:
    """The session of an execution whose record keeps ``spec`` (a redrive, a restart, a Map Run
    child): its test case looked up again in the current configuration."""
    machine, case = str(spec.get("state_machine")), str(spec.get("test_case"))
    try:
        config = provider() if provider is not None else None
        if config is None:
            raise UnknownTestCase(f"no mock configuration is loaded for test case '{case}'")
        return MockSession(spec, config.test_case(machine, case))
    except (UnknownTestCase, MockConfigError) as exc:
        return MockSession(spec, None, f"The execution's mock test case '{case}' cannot be used: {exc}")

from __future__ import annotations

import pytest

from meterpipe import demo


def test_the_demo_refuses_a_bad_month_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        demo.main(["--month", "2024-13"])
    assert exited.value.code == 1
    assert capsys.readouterr().err == "error: --month '2024-13' is not a month (month 13 is not 01..12)\n"


def test_make_demo_keep_passes_keep(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(demo, "run_demo", lambda **kwargs: seen.update(kwargs))
    demo.main(["--keep", "--customers", "5", "--month", "2024-02"])
    assert (seen["keep"], seen["customers"], seen["concurrency"], str(seen["month"])) == (
        True,
        5,
        8,
        "2024-02-01",
    )
    assert seen["home"] == demo.DEMO_HOME

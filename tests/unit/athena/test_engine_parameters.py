"""ExecutionParameters: bound in order of appearance, each a SQL constant, as Athena binds them."""

from __future__ import annotations

import pytest
from athena_fakes import MemoryStore

from localcloud.athena import AthenaEngine, AthenaQueryError


@pytest.fixture
def filled(engine: AthenaEngine, store: MemoryStore) -> AthenaEngine:
    store.put("s3://lake/listed/year=2022/month=01/a.csv", "h\n1,a,1\n2,b,2\n")
    store.put("s3://lake/listed/year=2022/month=02/a.csv", "h\n3,c,3\n")
    return engine


def test_parameters_bind_in_text_order_even_around_a_with_clause(filled: AthenaEngine) -> None:
    sql = (
        "WITH first AS (SELECT id, name FROM listed WHERE month = ?) "
        "SELECT id FROM first WHERE name = ? AND id > ?"
    )
    assert filled.execute(sql, ["'01'", "'b'", "1"], database="db").text_rows() == [["2"]]


def test_string_parameters_are_sql_literals_with_quotes(filled: AthenaEngine) -> None:
    result = filled.execute("SELECT ? AS a, ? AS b, ? AS c", ["'it''s'", "2022", "DATE '2022-01-05'"])
    assert result.text_rows() == [["it's", "2022", "2022-01-05"]]
    assert [c.type for c in result.columns] == ["varchar", "integer", "date"]


def test_a_question_mark_inside_a_string_is_not_a_parameter(filled: AthenaEngine) -> None:
    assert filled.execute("SELECT 'a?' AS q, ? AS p", ["1"]).text_rows() == [["a?", "1"]]


def test_wrong_number_of_parameters_is_invalid_parameter_usage(filled: AthenaEngine) -> None:
    with pytest.raises(AthenaQueryError) as caught:
        filled.execute("SELECT id FROM listed WHERE year = ? AND month = ?", ["'2022'"], database="db")
    assert str(caught.value) == (
        "INVALID_PARAMETER_USAGE: line 1:1: Incorrect number of parameters: expected 2 but found 1"
    )


def test_a_parameter_that_is_not_a_constant_is_refused(filled: AthenaEngine) -> None:
    with pytest.raises(AthenaQueryError) as caught:
        filled.execute("SELECT id FROM listed WHERE year = ?", ["year"], database="db")
    assert caught.value.name == "INVALID_PARAMETER_USAGE"


def test_an_unquoted_number_for_a_string_partition_is_a_type_mismatch(filled: AthenaEngine) -> None:
    with pytest.raises(AthenaQueryError) as caught:
        filled.execute("SELECT id FROM listed WHERE year = ?", ["2022"], database="db")
    assert str(caught.value) == "TYPE_MISMATCH: line 1:29: Cannot apply operator: varchar = integer"

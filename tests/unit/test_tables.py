from __future__ import annotations

from meterpipe.tables import CUSTOMERS, CUSTOMERS_LINES, READINGS, READINGS_LINES, ROLLUPS


def test_readings_table_has_the_columns_and_partitions_of_the_data_contract() -> None:
    table_input = READINGS.glue_table_input("lake-bucket")
    columns = [(c["Name"], c["Type"]) for c in table_input["StorageDescriptor"]["Columns"]]
    assert columns == [
        ("sensorid", "bigint"),
        ("voltage", "bigint"),
        ("current", "bigint"),
        ("frequency", "bigint"),
        ("kwh", "double"),
        ("hourcollected", "string"),
    ]
    assert [k["Name"] for k in table_input["PartitionKeys"]] == ["year", "month", "day"]
    assert table_input["Parameters"]["skip.header.line.count"] == "1"
    assert table_input["StorageDescriptor"]["Location"] == "s3://lake-bucket/iot_electricity_metering/"


def test_readings_projection_template_points_at_hive_partitions() -> None:
    params = READINGS.table_parameters("lake-bucket")
    assert params["projection.enabled"] == "true"
    assert params["projection.month.digits"] == "2"
    assert (
        params["storage.location.template"]
        == "s3://lake-bucket/iot_electricity_metering/year=${year}/month=${month}/day=${day}"
    )


def test_customers_table_is_unpartitioned_and_unprojected() -> None:
    table_input = CUSTOMERS.glue_table_input("lake-bucket")
    assert table_input["PartitionKeys"] == []
    assert "projection.enabled" not in table_input["Parameters"]


def test_rollup_table_keys_follow_the_contract() -> None:
    params = ROLLUPS.create_table_params()
    assert params["TableName"] == "ElectricityMeteredByPeriod"
    assert params["KeySchema"] == [
        {"AttributeName": "CustomerID", "KeyType": "HASH"},
        {"AttributeName": "SensorID-Period", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "CustomerID", "AttributeType": "N"} in params["AttributeDefinitions"]


def test_the_lines_tables_read_the_same_objects_as_whole_lines() -> None:

    for lines, typed in ((READINGS_LINES, READINGS), (CUSTOMERS_LINES, CUSTOMERS)):
        table_input = lines.glue_table_input("lake-bucket")
        assert table_input["StorageDescriptor"]["Columns"] == [{"Name": "line", "Type": "string"}]
        assert table_input["StorageDescriptor"]["Location"] == typed.location("lake-bucket")
        assert table_input["PartitionKeys"] == typed.glue_table_input("lake-bucket")["PartitionKeys"]
        # No field.delim: LazySimpleSerDe splits on Ctrl-A, which CSV lines do not hold.
        assert table_input["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {"serialization.format": "1"}
        assert table_input["Parameters"]["skip.header.line.count"] == "1"

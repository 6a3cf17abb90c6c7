-- kWh per customer and sensor for one month: every reading of that month present in the lake.
-- Parameters (ExecutionParameters, SQL string literals): year '2022', month '01'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM'), total_kwh, reading_count.
-- total_kwh: exact decimal sum rounded half up to 2 decimals, then DOUBLE (see hourly.sql).
-- reading_count lets the writer keep a month item from going backwards.
SELECT
    c.customerid AS customerid,
    concat(cast(r.sensorid AS varchar), '#', r.year, '-', r.month) AS sensorid_period,
    cast(round(sum(cast(r.kwh AS decimal(18, 6))), 2) AS double) AS total_kwh,
    count(*) AS reading_count
FROM iot_electricity_metering AS r
JOIN customer_meter_sensor AS c ON c.sensorid = r.sensorid
WHERE r.year = ? AND r.month = ?
GROUP BY c.customerid, r.sensorid, r.year, r.month
ORDER BY customerid, sensorid_period

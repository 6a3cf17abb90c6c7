-- kWh per customer and sensor for one day.
-- Parameters (ExecutionParameters, SQL string literals): year '2022', month '01', day '05'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM-DD'), total_kwh, reading_count.
-- total_kwh: exact decimal sum rounded half up to 2 decimals, then DOUBLE (see hourly.sql).
SELECT
    c.customerid AS customerid,
    concat(cast(r.sensorid AS varchar), '#', r.year, '-', r.month, '-', r.day) AS sensorid_period,
    cast(round(sum(cast(r.kwh AS decimal(18, 6))), 2) AS double) AS total_kwh,
    count(*) AS reading_count
FROM iot_electricity_metering AS r
JOIN customer_meter_sensor AS c ON c.sensorid = r.sensorid
WHERE r.year = ? AND r.month = ? AND r.day = ?
GROUP BY c.customerid, r.sensorid, r.year, r.month, r.day
ORDER BY customerid, sensorid_period

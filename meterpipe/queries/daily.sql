-- kWh per customer and sensor for one day.
-- Parameters (ExecutionParameters, SQL string literals): year '2022', month '01', day '05'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM-DD'), total_kwh, reading_count.
-- Readings only through {{ valid_readings_of_day }}; total_kwh as in hourly.sql.
SELECT
    v.customerid AS customerid,
    concat(cast(v.sensorid AS varchar), '#', v.year, '-', v.month, '-', v.day) AS sensorid_period,
    cast(round(sum(v.kwh), 2) AS double) AS total_kwh,
    count(*) AS reading_count
FROM ({{ valid_readings_of_day }}) AS v
GROUP BY v.customerid, v.sensorid, v.year, v.month, v.day
ORDER BY customerid, sensorid_period

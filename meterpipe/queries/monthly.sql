-- kWh per customer and sensor for one month: every valid reading of that month present in the lake.
-- Parameters (ExecutionParameters, SQL string literals): year '2022', month '01'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM'), total_kwh, reading_count.
-- Readings only through {{ valid_readings_of_month }}: a bad reading on any day of the month is left
-- out, whichever day's run computes the month. total_kwh as in hourly.sql.
SELECT
    v.customerid AS customerid,
    concat(cast(v.sensorid AS varchar), '#', v.year, '-', v.month) AS sensorid_period,
    cast(round(sum(v.kwh), 2) AS double) AS total_kwh,
    count(*) AS reading_count
FROM ({{ valid_readings_of_month }}) AS v
GROUP BY v.customerid, v.sensorid, v.year, v.month
ORDER BY customerid, sensorid_period

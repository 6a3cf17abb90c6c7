-- kWh per customer, sensor and hour of one day.
-- Parameters (ExecutionParameters, SQL string literals): year '2022', month '01', day '05'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM-DDTHH'), total_kwh, reading_count.
-- Readings come only through {{ valid_readings_of_day }} (queries/valid_readings.sql for that day):
-- a reading that fails a check of meterpipe/checks.py is never summed and never counted.
-- total_kwh is exact: each reading is a DECIMAL (at most 6 decimals, checked), summed exactly and
-- rounded half up to 2 decimals; only that exact cents value is cast to DOUBLE, which Athena writes
-- as Java's shortest decimal form ("0.3", "12.75"), never with float noise.
SELECT
    v.customerid AS customerid,
    concat(cast(v.sensorid AS varchar), '#', v.year, '-', v.month, '-', v.day, 'T', v.hourcollected)
        AS sensorid_period,
    cast(round(sum(v.kwh), 2) AS double) AS total_kwh,
    count(*) AS reading_count
FROM ({{ valid_readings_of_day }}) AS v
GROUP BY v.customerid, v.sensorid, v.year, v.month, v.day, v.hourcollected
ORDER BY customerid, sensorid_period

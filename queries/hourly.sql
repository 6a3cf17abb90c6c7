-- kWh per customer, sensor and hour of one day.
-- Parameters (ExecutionParameters, SQL string literals): year '2022', month '01', day '05'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM-DDTHH'), total_kwh, reading_count.
-- total_kwh is exact: each reading is taken as DECIMAL (readings carry at most 6 decimals), summed
-- exactly and rounded half up to 2 decimals; only that exact cents value is cast to DOUBLE, which
-- Athena writes as Java's shortest decimal form ("0.3", "12.75"), never with float noise.
SELECT
    c.customerid AS customerid,
    concat(cast(r.sensorid AS varchar), '#', r.year, '-', r.month, '-', r.day, 'T', r.hourcollected)
        AS sensorid_period,
    cast(round(sum(cast(r.kwh AS decimal(18, 6))), 2) AS double) AS total_kwh,
    count(*) AS reading_count
FROM iot_electricity_metering AS r
JOIN customer_meter_sensor AS c ON c.sensorid = r.sensorid
WHERE r.year = ? AND r.month = ? AND r.day = ?
GROUP BY c.customerid, r.sensorid, r.year, r.month, r.day, r.hourcollected
ORDER BY customerid, sensorid_period

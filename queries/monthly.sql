-- kWh per customer and sensor for one month: every reading of that month present in the lake.
-- Parameters (ExecutionParameters, strings): year 'YYYY', month 'MM'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM'), total_kwh (2 decimals), reading_count.
SELECT
    c.customerid AS customerid,
    concat(cast(r.sensorid AS varchar), '#', r.year, '-', r.month) AS sensorid_period,
    round(sum(r.kwh), 2) AS total_kwh,
    count(*) AS reading_count
FROM iot_electricity_metering AS r
JOIN customer_meter_sensor AS c ON c.sensorid = r.sensorid
WHERE r.year = ? AND r.month = ?
GROUP BY c.customerid, r.sensorid, r.year, r.month
ORDER BY customerid, sensorid_period

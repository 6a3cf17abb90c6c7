-- kWh per customer and sensor for one day.
-- Parameters (ExecutionParameters, strings): year 'YYYY', month 'MM', day 'DD'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM-DD'), total_kwh (2 decimals), reading_count.
SELECT
    c.customerid AS customerid,
    concat(cast(r.sensorid AS varchar), '#', r.year, '-', r.month, '-', r.day) AS sensorid_period,
    round(sum(r.kwh), 2) AS total_kwh,
    count(*) AS reading_count
FROM iot_electricity_metering AS r
JOIN customer_meter_sensor AS c ON c.sensorid = r.sensorid
WHERE r.year = ? AND r.month = ? AND r.day = ?
GROUP BY c.customerid, r.sensorid, r.year, r.month, r.day
ORDER BY customerid, sensorid_period

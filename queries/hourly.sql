-- kWh per customer, sensor and hour of one day.
-- Parameters (ExecutionParameters, strings): year 'YYYY', month 'MM', day 'DD'.
-- Result: customerid, sensorid_period ('<sensor>#YYYY-MM-DDTHH'), total_kwh (2 decimals), reading_count.
SELECT
    c.customerid AS customerid,
    concat(cast(r.sensorid AS varchar), '#', r.year, '-', r.month, '-', r.day, 'T', r.hourcollected)
        AS sensorid_period,
    round(sum(r.kwh), 2) AS total_kwh,
    count(*) AS reading_count
FROM iot_electricity_metering AS r
JOIN customer_meter_sensor AS c ON c.sensorid = r.sensorid
WHERE r.year = ? AND r.month = ? AND r.day = ?
GROUP BY c.customerid, r.sensorid, r.year, r.month, r.day, r.hourcollected
ORDER BY customerid, sensorid_period

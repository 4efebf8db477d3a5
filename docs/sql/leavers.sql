-- Leavers and their last day: everyone with a termination last day, latest first, and whether
-- that day is before the reference date (`as_of`, else today). `last_day` is tap-deel's derived
-- field, the very date the sync reads: the date part of `direct_employee_termination_last_day`,
-- else of the primary employment's `termination_last_day` (the first not ended, else the first).
WITH params AS (
    SELECT coalesce(getvariable('as_of')::DATE, current_date) AS as_of
)
SELECT
    p.last_day::DATE AS last_day,
    CASE WHEN p.last_day::DATE < params.as_of THEN 'left' ELSE 'leaving' END AS status,
    p.full_name,
    p.department__name AS department,
    p.hiring_type,
    p.hiring_status
FROM tap_deel.people AS p, params
WHERE p.last_day IS NOT NULL
ORDER BY p.last_day DESC, p.full_name, p.id;

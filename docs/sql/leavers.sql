-- Leavers and their last day: everyone with a termination last day, latest first, and whether
-- that day is before the reference date (`as_of`, else today). The last day is the sync's own
-- rule: the date of `direct_employee_termination_last_day`, else of the primary employment's
-- `termination_last_day` (the primary employment: the first not ended, else the first).
WITH params AS (
    SELECT coalesce(getvariable('as_of')::DATE, current_date) AS as_of
),
employments AS (
    SELECT
        p.id,
        from_json(p.employments, '[{"is_ended": "BOOLEAN", "termination_last_day": "VARCHAR"}]')
            AS items
    FROM tap_deel.people AS p
),
last_days AS (
    SELECT
        p.*,
        coalesce(
            p.direct_employee_termination_last_day::DATE,
            left(
                coalesce(list_filter(e.items, lambda i: NOT coalesce(i.is_ended, false))[1], e.items[1])
                    .termination_last_day,
                10
            )::DATE
        ) AS last_day
    FROM tap_deel.people AS p
    JOIN employments AS e USING (id)
)
SELECT
    l.last_day,
    CASE WHEN l.last_day < params.as_of THEN 'left' ELSE 'leaving' END AS status,
    l.full_name,
    l.department__name AS department,
    l.hiring_type,
    l.hiring_status
FROM last_days AS l, params
WHERE l.last_day IS NOT NULL
ORDER BY l.last_day DESC, l.full_name, l.id;

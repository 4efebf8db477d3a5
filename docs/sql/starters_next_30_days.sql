-- People starting in the next 30 days: a start date from the reference date (`as_of`, else
-- today) to 30 days after it, and not terminated. `work_email` empty: no JumpCloud account yet.
WITH params AS (
    SELECT coalesce(getvariable('as_of')::DATE, current_date) AS as_of
)
SELECT
    p.start_date::DATE AS start_date,
    p.full_name,
    p.department__name AS department,
    p.client_legal_entity__name AS entity,
    p.hiring_status,
    p.work_email
FROM tap_deel.people AS p, params
WHERE p.start_date::DATE BETWEEN params.as_of AND params.as_of + 30
    AND p.hiring_status <> 'inactive'
ORDER BY start_date, p.full_name, p.id;

-- Headcount by legal entity and department: the workers who are active on the reference date
-- (the tap's `active`, the same flag that gives them a JumpCloud account) and have started.
-- The reference date is the variable `as_of` when set (SET VARIABLE as_of = DATE '2025-07-01'),
-- else today.
WITH params AS (
    SELECT coalesce(getvariable('as_of')::DATE, current_date) AS as_of
)
SELECT
    coalesce(p.client_legal_entity__name, '(no entity)') AS entity,
    coalesce(p.department__name, '(no department)') AS department,
    count(*) AS headcount
FROM tap_deel.people AS p, params
WHERE p.active AND p.start_date::DATE <= params.as_of
GROUP BY ALL
ORDER BY entity, department;

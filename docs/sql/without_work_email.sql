-- Active workers without a work email: target-jumpcloud skips them (a JumpCloud account needs
-- one), so each is a Deel profile for HR or IT to complete.
SELECT
    p.full_name,
    p.id AS deel_profile_id,
    p.hiring_status,
    p.department__name AS department,
    p.client_legal_entity__name AS entity
FROM tap_deel.people AS p
WHERE p.active AND p.work_email IS NULL
ORDER BY p.full_name, p.id;

-- Manager chain depth: for every active worker, how many managers stand above them (0 for the
-- top of the tree), counted per depth. The chain follows `direct_manager__id` through the
-- people table; it stops at a manager who is not in it, and never runs round a cycle.
WITH RECURSIVE chain (id, manager_id, depth, path) AS (
    SELECT p.id, p.direct_manager__id, 0, [p.id]
    FROM tap_deel.people AS p
    WHERE p.active
    UNION ALL
    SELECT c.id, m.direct_manager__id, c.depth + 1, list_append(c.path, m.id)
    FROM chain AS c
    JOIN tap_deel.people AS m ON m.id = c.manager_id
    WHERE NOT list_contains(c.path, m.id)
),
depths AS (
    SELECT id, max(depth) AS depth
    FROM chain
    GROUP BY id
)
SELECT depth AS managers_above, count(*) AS workers
FROM depths
GROUP BY depth
ORDER BY depth;

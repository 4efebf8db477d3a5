"""The sync rules, pure: a record mapped, matched, named, linked to its manager, dated."""

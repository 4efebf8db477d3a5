"""tap-deel: a Singer tap that extracts Deel workers and organisation data."""

"""The only code that writes to JumpCloud: a plan's user writes, then its scheduled jobs."""

"""target-jumpcloud: a Singer target that syncs HR workers into JumpCloud users."""

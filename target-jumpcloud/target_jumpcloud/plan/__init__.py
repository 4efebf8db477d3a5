"""The plan as a value: built from records and directory, guarded, filed, reloaded, checked."""

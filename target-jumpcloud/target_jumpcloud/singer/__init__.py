"""The Singer side of the target: sinks, the fast input reader, settings declaration, exits."""

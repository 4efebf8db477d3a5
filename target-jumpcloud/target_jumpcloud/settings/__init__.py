"""The raw config turned into typed settings, every problem of a config reported at once."""

"""Fixtures shared across test folders live here as the features that need them land."""

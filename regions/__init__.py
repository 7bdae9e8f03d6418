"""Data regions: one deployment per region, and the check that it shares nothing with another."""

"""Encryption at rest: keys derived from the operator's master key, encrypted fields and files."""

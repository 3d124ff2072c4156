"""Operator tools that run outside Lambda (against the local stack or a deployed stack)."""

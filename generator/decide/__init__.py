"""Decide: facts, rules and selection (pure functions: data in, decision out)."""

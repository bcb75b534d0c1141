"""Sandbox tiers that run programs. `monty` is the default (and, for now, only) tier."""

"""Bias-optimal program search over a machine: Levin search, adaptive LS, OOPS, HSEARCH."""

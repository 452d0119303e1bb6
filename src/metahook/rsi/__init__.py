"""Frameworks that keep only useful self-modifications: SSA, Goedel machine, PowerPlay, ..."""

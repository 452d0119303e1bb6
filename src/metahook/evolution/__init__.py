"""Evolution of recurrent nets (ESP, H-ESP, CoSyNE) and evolution applied to itself (Meta-GP)."""

"""Universal, self-modifiable languages: machine state, instruction tables, interpreters."""

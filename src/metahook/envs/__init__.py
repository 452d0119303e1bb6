"""Tasks and environments; each module's docstring is its full specification."""

"""One module per reproduced experiment; importing this package registers them all.

Each module defines its config dataclass (every hyperparameter in one place), its ``quick`` and
``full`` scales, the paper's reference figures and a ``run(ctx, config) -> Result`` that reads
top to bottom.
"""

from metahook.experiments import toy_counter  # noqa: F401

"""metahook: learning how to learn learning algorithms, reproduced.

The systems of Schmidhuber and colleagues' "learning to learn" line (OOPS, the success-story
algorithm, the Goedel machine, fast weight programmers, neuroevolution, ...), each faithful to its
paper, with the paper's figures printed beside ours.

Layers (arrows point down only; ``tests/test_layers.py`` holds the rule)::

    cli -> experiments -> rsi -> {search, rl, neural, evolution} -> {machines, envs} -> core
                 |
                 +-> harness (the surface experiments use; algorithms never import it)
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

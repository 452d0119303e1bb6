"""PowerPlay: a solver that keeps inventing the simplest task it cannot yet solve.

Schmidhuber, Frontiers in Psychology 4:313 (2013); Srivastava, Steunebrink & Schmidhuber, Neural
Networks 41:130-136 (2013). :mod:`.core` is the loop, generic over a domain (a modifiable solver
and a task space); :mod:`.forth` is the domain of the OOPS language.
"""

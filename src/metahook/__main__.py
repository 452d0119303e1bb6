"""``python -m metahook`` runs the command-line interface."""

from metahook.cli import main

raise SystemExit(main())

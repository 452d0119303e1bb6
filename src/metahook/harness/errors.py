"""Errors the command line turns into one clear line and exit status 2."""


class UsageError(Exception):
    """Bad input from the user: unknown name, wrong config key or type, corrupt checkpoint.

    The message is one line that names the problem and, where there are any, the valid choices.
    The CLI prints it to stderr and exits with status 2; nothing has been written by then.
    """


class RunInterrupted(Exception):
    """Raised inside a run after Ctrl-C once a last checkpoint has been written (exit 130)."""


def choices(valid: list[str] | tuple[str, ...], limit: int = 40) -> str:
    """Format valid choices for an error line."""
    items = sorted(valid)
    if not items:
        return "(none)"
    text = ", ".join(items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")

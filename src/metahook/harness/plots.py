"""Plot helpers: a headless matplotlib figure, saved as PNG into the run's ``plots/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def figure(width: float = 6.0, height: float = 4.0) -> tuple[Any, Any]:
    """A new (figure, axes) pair with the house size."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    return fig, ax


def save(fig: Any, path: Path) -> Path:
    """Save ``fig`` to ``path`` (PNG) and close it."""
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def finish(fig: Any, ax: Any, path: Path, *, xlabel: str, ylabel: str, title: str = "",
           legend_size: float | None = 8) -> Path:
    """Label ``ax`` (and give it a legend unless ``legend_size`` is None), then :func:`save`."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend_size is not None:
        ax.legend(fontsize=legend_size)
    return save(fig, path)


def image_grid(path: Path, rows: list[tuple[str, Any]], col_titles: list[str]) -> Path:
    """Save a grid of images: one row per ``(name, images)`` pair, ``images`` indexable by column
    and each an array (H, W, C) or (H, W) in [0, 1]; ``col_titles`` above the first row."""
    n = len(col_titles)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.6 * n, 1.75 * len(rows)), dpi=100,
                             squeeze=False)
    for r, (name, imgs) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(imgs[c])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_titles[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    return save(fig, path)

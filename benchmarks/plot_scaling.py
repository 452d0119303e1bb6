"""docs/img/scaling/: the OOPS dispatcher's simulated speed-up and efficiency for 1..256 workers.

    python benchmarks/plot_scaling.py            # about 2 CPU-minutes (measures 1n2n 1..5)
    python benchmarks/plot_scaling.py --replot   # the plot again from the saved figures

Runs ``metahook bench oops-dispatch`` (full) in this process, writes its figures to
``docs/img/scaling/oops_dispatch.json`` and the plot to ``docs/img/scaling/oops_dispatch.png``.
The figures are time steps replayed through the dispatcher's schedule, so they do not depend on
the machine or its load (only ``measure_wall_s`` does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from metahook.benchmarks.oops_dispatch import run

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "scaling"


def main() -> None:
    if "--replot" in sys.argv[1:]:
        figures = json.loads((OUT / "oops_dispatch.json").read_text())
    else:
        figures = run(quick=False)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "oops_dispatch.json").write_text(json.dumps(figures, indent=1) + "\n")
    w = figures["workers"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    curves = [
        ("measured", f"measured searches ({figures['measured_tasks']})", "k-o"),
        ("measured_modelled", f"same tasks, costs modelled ({figures['measured_tasks']})",
         "k--"),
        ("full_run_last_0.5", f"full run ({figures['full_run_tasks']} tasks), modelled",
         "C0-s"),
        ("full_run_last_0.1", "full run, last search cut at 0.1", "C0:"),
        ("full_run_last_1.0", "full run, last search not cut", "C0-."),
    ]
    for key, label, style in curves:
        ax1.plot(w, figures[key]["speedup"], style, label=label)
        ax2.plot(w, figures[key]["efficiency"], style, label=label)
    ax1.plot(w, w, ":", color="grey", label="ideal")
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("workers")
        ax.grid(True, alpha=0.3)
    ax1.set_yscale("log", base=2)
    ax1.set_ylim(0.8, 300)
    ax1.set_ylabel("speed-up over one worker")
    ax2.set_ylabel("efficiency (speed-up / workers)")
    ax2.set_ylim(0, 1.05)
    ax1.legend(fontsize=7, loc="upper left")
    fig.suptitle("OOPS speculative dispatcher, replayed (time steps)")
    fig.tight_layout()
    fig.savefig(OUT / "oops_dispatch.png", dpi=110)
    print(json.dumps({k: v for k, v in figures.items() if not isinstance(v, dict)}))


if __name__ == "__main__":
    main()

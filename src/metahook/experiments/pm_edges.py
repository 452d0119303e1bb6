"""pm-edges: semilinear predictability minimization on photographs (1996) against FastICA and PCA.

Schmidhuber, Eldracher & Foltin, "Semilinear predictability minimization produces well-known
feature detectors", Neural Computation 8(4):773-786, 1996 (people.idsia.ch/~juergen/edgedetect/
node3.html). The paper's geometry: a circular *input area* 64 pixel widths across, 32 code units,
each with a bias and a circular receptive field 20 pixel widths across holding 81 evenly spread
input units; the fields overlap and keep fixed places in the input area, which is laid on the
image at a random position and rotation for every pattern; an input unit is the mean grey level
of its closest pixel and that pixel's 4 neighbours (16 grey levels, scaled around zero). The
paper's photos (driving cars, 566 x 702) are not available; ours are the two photos scikit-learn
ships (``load_sample_image``: china.jpg, flower.jpg). Learning: :class:`~metahook.neural.
predictability_minimization.SemilinearPM` (delta rule, no error through the predictors' inputs,
predictors and code units simultaneously). The paper reports its detectors qualitatively
(orientation-sensitive edge detectors, off-centre/on-surround detectors).

Measured here: the 32 filters (plotted as images), each filter's orientation selectivity (the
response to gratings at 16 orientations, phase-invariant, at the filter's best spatial period:
OSI = |sum_k R_k exp(2 i theta_k)| / sum_k R_k, 0 for no preference and 1 for a single
orientation), the same for FastICA and PCA (scikit-learn) fitted to the same receptive-field
patches, and for random filters as the floor. Second part: PM against FastICA on linearly mixed,
known independent sources (binary, uniform and Laplacian), scored by the Amari index of
unmixing x mixing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metahook.harness.api import Experiment, Result, RunContext, collect, plots, register
from metahook.neural.predictability_minimization import SemilinearPM, amari_index
from metahook.neural.training import set_threads
from metahook.references import refs

SPACING = 2.0  # pixel widths between neighbouring input units: 81 of them in a 20-px field
AREA_RADIUS = 32.0  # the input area: 64 pixel widths across
FIELD_RADIUS = 10.0  # a receptive field: 20 pixel widths across
ORIENTATIONS = 16
PERIODS = (4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0)  # grating periods (pixel widths)
SOURCES = ("binary", "uniform", "laplace")
IMAGES = ("china.jpg", "flower.jpg")


@dataclass(frozen=True)
class Config:
    presentations: int = 500_000  # patterns shown to PM (the paper does not say how many)
    batch: int = 10  # patterns per weight change (summed; the paper changes after each)
    lr_code: float = 0.01  # per pattern
    lr_pred: float = 0.1  # the predictors learn faster than the code units
    init: float = 0.01  # code weights start uniform in [-init, init]
    grey_levels: int = 16
    baseline_patterns: int = 20_000  # input-area patterns whose fields FastICA and PCA see
    baseline_rows: int = 60_000  # receptive-field patches (of all fields) given to them
    log_every: int = 50_000
    ica_seeds: int = 10  # the mixed-sources comparison: independent problems per source kind
    ica_sources: int = 4
    ica_samples: int = 5_000
    ica_presentations: int = 300_000  # in mini-batches of ``batch``
    ica_lr_code: float = 0.05
    ica_lr_pred: float = 0.5
    sources: tuple[str, ...] = SOURCES
    threads: int = 1
    plots: bool = True

    def validate(self) -> None:
        if self.presentations < self.batch or self.batch < 1 or self.log_every < 1:
            raise ValueError("presentations >= batch >= 1 and log_every >= 1 required")
        if not (0 < self.lr_code <= 1 and 0 < self.lr_pred <= 10 and self.init >= 0):
            raise ValueError("0 < lr_code <= 1, 0 < lr_pred <= 10 and init >= 0 required")
        if not 2 <= self.grey_levels <= 256:
            raise ValueError("grey_levels must be in 2..256")
        if self.baseline_patterns < 100 or self.baseline_rows < 1000:
            raise ValueError("baseline_patterns >= 100 and baseline_rows >= 1000 required")
        if self.ica_seeds < 1 or self.ica_sources < 2 or self.ica_samples < 100 \
                or self.ica_presentations < 1:
            raise ValueError("ica_seeds >= 1, ica_sources >= 2, ica_samples >= 100, "
                             "ica_presentations >= 1 required")
        if not (0 < self.ica_lr_code <= 1 and 0 < self.ica_lr_pred <= 10):
            raise ValueError("0 < ica_lr_code <= 1 and 0 < ica_lr_pred <= 10 required")
        bad = [s for s in self.sources if s not in SOURCES]
        if bad or not self.sources:
            raise ValueError(f"unknown sources {bad}; have {', '.join(SOURCES)}")
        if self.threads < 0:
            raise ValueError("threads must be >= 0")


# ---------------------------------------------------------------------- geometry
def lattice(radius: float) -> np.ndarray:
    """Offsets (pixel widths) of the input units within ``radius`` of a centre: the lattice of
    spacing :data:`SPACING` (81 points for a 20-px field, 797 for the 64-px input area)."""
    k = int(radius // SPACING)
    ij = np.array([(i, j) for i in range(-k, k + 1) for j in range(-k, k + 1)
                   if (i * SPACING) ** 2 + (j * SPACING) ** 2 <= radius ** 2 + 1e-9], float)
    return ij * SPACING


def field_centres(n: int = 32) -> np.ndarray:
    """``n`` fixed receptive-field centres on input units, spread evenly (a sunflower spiral)
    over the part of the input area where a whole field fits."""
    reach = (AREA_RADIUS - FIELD_RADIUS) / SPACING
    golden = np.pi * (3.0 - np.sqrt(5.0))
    out: list[tuple[float, float]] = []
    k = 0
    while len(out) < n:
        r = reach * np.sqrt((k + 0.5) / n)
        p = (round(r * np.cos(k * golden)), round(r * np.sin(k * golden)))
        if p not in out and p[0] ** 2 + p[1] ** 2 <= reach ** 2:
            out.append(p)
        k += 1
    return np.array(out, float) * SPACING


def fields(units: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Mask ``(n_code, n_units)``: which input units each code unit sees."""
    d = np.linalg.norm(units[None, :, :] - centres[:, None, :], axis=-1)
    return (d <= FIELD_RADIUS + 1e-9).astype(np.float64)


def grey_images(levels: int) -> list[np.ndarray]:
    """scikit-learn's shipped photos in ``levels`` grey levels scaled around zero to [-1, 1],
    each pixel replaced by the mean of itself and its 4 neighbours (what an input unit reads
    at its closest pixel; the border row and column are dropped)."""
    from sklearn.datasets import load_sample_image

    out = []
    for name in IMAGES:
        rgb = load_sample_image(name).astype(np.float64)
        g = rgb @ np.array([0.299, 0.587, 0.114]) / 256.0  # luminance in [0, 1)
        q = np.floor(g * levels)
        v = (q - (levels - 1) / 2.0) / ((levels - 1) / 2.0)
        five = (v[1:-1, 1:-1] + v[:-2, 1:-1] + v[2:, 1:-1] + v[1:-1, :-2] + v[1:-1, 2:]) / 5.0
        out.append(five.astype(np.float32))
    return out


def sample_patterns(images: list[np.ndarray], units: np.ndarray, n: int,
                    rng: np.random.Generator) -> np.ndarray:
    """``n`` patterns ``(n, n_units)``: per pattern an image, a rotation and a position (where
    the whole input area falls inside the image); an input unit reads the 5-pixel mean (see
    :func:`grey_images`) at its closest pixel."""
    which = rng.integers(0, len(images), n)
    theta = rng.uniform(0.0, 2.0 * np.pi, n)
    out = np.empty((n, units.shape[0]), dtype=np.float32)
    margin = AREA_RADIUS + 1.0
    u0, u1 = units[None, :, 0], units[None, :, 1]
    for k, img in enumerate(images):
        sel = np.nonzero(which == k)[0]
        if not sel.size:
            continue
        h, w = img.shape
        cy = rng.uniform(margin, h - 1 - margin, sel.size)[:, None]
        cx = rng.uniform(margin, w - 1 - margin, sel.size)[:, None]
        c, s = np.cos(theta[sel])[:, None], np.sin(theta[sel])[:, None]
        py = np.floor(cy + c * u0 - s * u1 + 0.5).astype(np.intp)
        px = np.floor(cx + s * u0 + c * u1 + 0.5).astype(np.intp)
        out[sel] = img[py, px]
    return out


# ---------------------------------------------------------------------- filter analysis
def orientation_tuning(filters: np.ndarray, offsets: np.ndarray) -> dict[str, np.ndarray]:
    """Per filter (rows of ``filters`` over input units at ``offsets``): its phase-invariant
    response to gratings of :data:`ORIENTATIONS` orientations at its best period, the OSI and
    the preferred orientation (degrees in [0, 180))."""
    theta = np.arange(ORIENTATIONS) * np.pi / ORIENTATIONS
    resp = np.empty((filters.shape[0], len(PERIODS), ORIENTATIONS))
    for a, period in enumerate(PERIODS):
        proj = (offsets[:, 0:1] * np.cos(theta) + offsets[:, 1:2] * np.sin(theta))
        wave = np.exp(2j * np.pi * proj / period)  # (units, orientations)
        resp[:, a, :] = np.abs(filters @ wave)
    best = resp.max(axis=2).argmax(axis=1)
    tuning = resp[np.arange(filters.shape[0]), best]
    z = (tuning * np.exp(2j * theta)).sum(axis=1) / np.maximum(tuning.sum(axis=1), 1e-300)
    return {"osi": np.abs(z), "preferred_deg": (np.degrees(np.angle(z)) / 2.0) % 180.0,
            "period": np.array(PERIODS)[best], "tuning": tuning}


def centre_surround(filters: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per filter: mean weight within 2 px of the centre minus the mean weight beyond 6 px,
    over the filter's weight spread (sign: on-centre > 0, off-centre < 0)."""
    r = np.linalg.norm(offsets, axis=1)
    centre, surround = filters[:, r <= 2.0 + 1e-9].mean(1), filters[:, r >= 6.0].mean(1)
    return (centre - surround) / np.maximum(filters.std(axis=1), 1e-300)


def _stats(filters: np.ndarray, offsets: np.ndarray) -> dict[str, Any]:
    t = orientation_tuning(filters, offsets)
    cs = centre_surround(filters, offsets)
    return {"osi": t["osi"].tolist(), "preferred_deg": t["preferred_deg"].tolist(),
            "period": t["period"].tolist(), "centre_surround": cs.tolist(),
            "osi_mean": float(t["osi"].mean()), "osi_median": float(np.median(t["osi"])),
            "oriented": int((t["osi"] >= 0.5).sum()),
            "centre_surround_units": int(((np.abs(cs) >= 1.0) & (t["osi"] < 0.3)).sum())}


# ---------------------------------------------------------------------- the jobs
def _train_pm(ctx: RunContext, cfg: Config, images: list[np.ndarray], units: np.ndarray,
              mask: np.ndarray) -> dict[str, Any]:
    rng = np.random.default_rng(ctx.seed * 7919 + 1)
    net = SemilinearPM(1, mask, ctx.torch_generator(1), init=cfg.init)
    chunk = max(cfg.batch, (4096 // cfg.batch) * cfg.batch)
    shown, err_sum, err_n = 0, 0.0, 0
    curve: list[dict[str, float]] = []
    while shown < cfg.presentations:
        n = min(chunk, cfg.presentations - shown)
        n -= n % cfg.batch
        if n <= 0:
            break
        x = torch.as_tensor(sample_patterns(images, units, n, rng), dtype=torch.float64)
        for s in range(0, n, cfg.batch):
            e = net.step(x[None, s:s + cfg.batch], cfg.lr_pred, cfg.lr_code)
            err_sum += float(e.sum())
            err_n += cfg.batch
        shown += n
        if shown % cfg.log_every < n or shown >= cfg.presentations:
            with torch.no_grad():
                y = net.codes(x[None])[0].numpy()
            point = {"presentations": shown, "pred_error": err_sum / max(err_n, 1),
                     "code_var": float(y.var(axis=0).mean()),
                     "binary_share": float(((y < 0.05) | (y > 0.95)).mean()),
                     "abs_corr": _mean_abs_corr(y)}
            curve.append(point)
            ctx.log(shown, part="pm", **point)
            err_sum, err_n = 0.0, 0
        ctx.progress(shown, cfg.presentations, "semilinear PM")
    return {"V": net.V[0].numpy().tolist(), "b": net.b[0].numpy().tolist(), "curve": curve}


def _mean_abs_corr(y: np.ndarray) -> float:
    sd = y.std(axis=0)
    keep = sd > 1e-12
    if keep.sum() < 2:
        return float("nan")
    c = np.corrcoef(y[:, keep].T)
    return float(np.abs(c[~np.eye(c.shape[0], dtype=bool)]).mean())


def _field_rows(patterns: np.ndarray, mask: np.ndarray, rows: int,
                rng: np.random.Generator) -> np.ndarray:
    """Receptive-field patches ``(rows, 81)``: random (pattern, field) pairs."""
    idx = [np.nonzero(m)[0] for m in mask]
    p = rng.integers(0, patterns.shape[0], rows)
    f = rng.integers(0, mask.shape[0], rows)
    return np.stack([patterns[p[k], idx[f[k]]] for k in range(rows)])


def _baselines(ctx: RunContext, cfg: Config, images: list[np.ndarray], units: np.ndarray,
               mask: np.ndarray) -> dict[str, Any]:
    from sklearn.decomposition import PCA, FastICA

    rng = np.random.default_rng(ctx.seed * 7919 + 2)
    pats = sample_patterns(images, units, cfg.baseline_patterns, rng)
    rows = _field_rows(pats, mask, cfg.baseline_rows, rng)
    n = mask.shape[0]
    pca = PCA(n_components=n, random_state=ctx.seed).fit(rows)
    ica = FastICA(n_components=n, whiten="unit-variance", random_state=ctx.seed,
                  max_iter=1000, tol=1e-4).fit(rows)
    rand = rng.standard_normal((n, rows.shape[1]))
    return {"pca": pca.components_.tolist(), "ica": ica.components_.tolist(),
            "random": rand.tolist(),
            "pca_explained": pca.explained_variance_ratio_.tolist()}


def _sources(kind: str, n: int, t: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "binary":
        return rng.choice((-1.0, 1.0), size=(t, n))
    if kind == "uniform":
        return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), (t, n))
    return rng.laplace(0.0, 1.0 / np.sqrt(2.0), (t, n))


def _mixed(ctx: RunContext, cfg: Config, kind: str) -> dict[str, Any]:
    """PM (every code unit sees every mixture) and FastICA on ``ica_seeds`` problems of
    ``ica_sources`` independent sources of ``kind``, mixed by a random square matrix."""
    from sklearn.decomposition import FastICA

    n = cfg.ica_sources
    rng = np.random.default_rng(ctx.seed * 7919 + 3 + SOURCES.index(kind))
    s = np.stack([_sources(kind, n, cfg.ica_samples, rng) for _ in range(cfg.ica_seeds)])
    a = rng.standard_normal((cfg.ica_seeds, n, n))
    x = np.einsum("rij,rtj->rti", a, s)
    x /= x.std(axis=1, keepdims=True)  # each mixture scaled to unit variance (as ICA whitens)
    net = SemilinearPM(cfg.ica_seeds, np.ones((n, n)), ctx.torch_generator(10), init=0.5)
    xt = torch.as_tensor(x)
    order = np.random.default_rng(ctx.seed * 7919 + 20)
    rows = torch.arange(cfg.ica_seeds)[:, None]
    for _ in range(max(1, cfg.ica_presentations // cfg.batch)):
        k = torch.as_tensor(order.integers(0, cfg.ica_samples, (cfg.ica_seeds, cfg.batch)))
        net.step(xt[rows, k], cfg.ica_lr_pred, cfg.ica_lr_code)
    pm, ica = [], []
    for r in range(cfg.ica_seeds):
        mix = a[r] / (a[r] @ s[r].T).std(axis=1)[:, None]  # the mixing of the scaled data
        w = net.V[r].numpy()
        pm.append(amari_index(w @ mix))
        fit = FastICA(n_components=n, whiten="unit-variance", random_state=ctx.seed + r,
                      max_iter=1000).fit(x[r])
        ica.append(amari_index(fit.components_ @ mix))
    return {"pm": pm, "fastica": ica}


def run(ctx: RunContext, cfg: Config) -> Result:
    set_threads(cfg.threads)
    images = grey_images(cfg.grey_levels)
    units = lattice(AREA_RADIUS)
    centres = field_centres(32)
    mask = fields(units, centres)
    offsets = lattice(FIELD_RADIUS)
    keys = ["pm", "baselines", *[f"mixed_{k}" for k in cfg.sources]]

    def compute(missing: list[str]) -> Any:
        for key in missing:
            if key == "pm":
                yield key, _train_pm(ctx, cfg, images, units, mask)
            elif key == "baselines":
                yield key, _baselines(ctx, cfg, images, units, mask)
            else:
                yield key, _mixed(ctx, cfg, key.removeprefix("mixed_"))

    done = collect(ctx, keys, compute)
    V = np.asarray(done["pm"]["V"])
    pm_filters = np.stack([V[i, mask[i] > 0] for i in range(mask.shape[0])])
    filters = {"pm": pm_filters, "fastica": np.asarray(done["baselines"]["ica"]),
               "pca": np.asarray(done["baselines"]["pca"]),
               "random": np.asarray(done["baselines"]["random"])}
    m: dict[str, Any] = {"input_units": int(units.shape[0]), "code_units": int(mask.shape[0]),
                         "field_units": int(mask.sum(axis=1).min()),
                         "presentations": cfg.presentations,
                         "pm_curve_last": done["pm"]["curve"][-1]}
    for name, f in filters.items():
        st = _stats(f, offsets)
        for k in ("osi_mean", "osi_median", "oriented", "centre_surround_units"):
            m[f"{k}_{name}"] = st[k]
        m[f"filters_{name}"] = {k: st[k] for k in ("osi", "preferred_deg", "period",
                                                   "centre_surround")}
    for kind in cfg.sources:
        d = done[f"mixed_{kind}"]
        m[f"amari_pm_{kind}"] = float(np.mean(d["pm"]))
        m[f"amari_fastica_{kind}"] = float(np.mean(d["fastica"]))
        m[f"amari_{kind}"] = d
    if cfg.plots:
        _plot_filters(ctx, filters, offsets, m)
        _plot_osi(ctx, filters, m)
    return Result(metrics=m)


def _plot_filters(ctx: RunContext, filters: dict[str, np.ndarray], offsets: np.ndarray,
                  m: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    k = int(FIELD_RADIUS // SPACING)
    ij = np.rint(offsets / SPACING).astype(int) + k
    for name in ("pm", "fastica", "pca"):
        f = filters[name]
        fig, axes = plt.subplots(4, 8, figsize=(8.0, 4.6), dpi=100)
        osi = m[f"filters_{name}"]["osi"]
        for i, ax in enumerate(axes.flat):
            img = np.full((2 * k + 1, 2 * k + 1), np.nan)
            img[ij[:, 0], ij[:, 1]] = f[i]
            lim = np.nanmax(np.abs(img))
            ax.imshow(img, cmap="gray", vmin=-lim, vmax=lim)
            ax.set_title(f"{osi[i]:.2f}", fontsize=7)
            ax.axis("off")
        label = {"pm": "semilinear PM", "fastica": "FastICA", "pca": "PCA"}[name]
        fig.suptitle(f"{label}: 32 receptive fields (81 inputs, 20 px across); "
                     "title = orientation selectivity", fontsize=9)
        plots.save(fig, ctx.plot_path(f"filters_{name}"))


def _plot_osi(ctx: RunContext, filters: dict[str, np.ndarray], m: dict[str, Any]) -> None:
    fig, ax = plots.figure(6.5, 4.0)
    bins = np.linspace(0, 1, 21)
    for k, name in enumerate(("pm", "fastica", "pca", "random")):
        ax.hist(m[f"filters_{name}"]["osi"], bins=bins, histtype="step", color=f"C{k}",
                label=f"{name} (mean {m[f'osi_mean_{name}']:.2f})")
    plots.finish(fig, ax, ctx.plot_path("orientation_selectivity"),
                 xlabel="orientation selectivity index", ylabel="filters",
                 title="Orientation selectivity of the 32 filters")


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """PM's filters include centre-surround detectors (at least 8 of 32, where random filters
    have fewer than 4), and FastICA, the baseline, separates the mixed binary sources."""
    ok = (m["centre_surround_units_pm"] >= 8 and m["centre_surround_units_random"] < 4
          and m["amari_fastica_binary"] < 0.05)
    return ok, (f"centre-surround filters: PM {m['centre_surround_units_pm']}, random "
                f"{m['centre_surround_units_random']}; oriented (OSI >= 0.5): PM "
                f"{m['oriented_pm']}, FastICA {m['oriented_fastica']}, PCA {m['oriented_pca']}; "
                f"Amari index on binary sources: PM {m['amari_pm_binary']:.3f}, FastICA "
                f"{m['amari_fastica_binary']:.3f}")


EXPERIMENT = register(Experiment(
    name="pm-edges",
    system="predictability minimization (factorial codes, semilinear PM)",
    paper="Schmidhuber, Eldracher & Foltin, Semilinear predictability minimization produces "
          "well-known feature detectors, Neural Computation 8(4):773-786, 1996",
    description="Semilinear PM with the paper's geometry (64-px input area, 32 code units with "
                "20-px receptive fields, random rotation and position) on scikit-learn's "
                "photos learns oriented filters; FastICA and PCA on the same patches; PM vs "
                "FastICA on mixed independent sources (Amari index).",
    config=Config,
    scales={"quick": Config(presentations=30_000, log_every=10_000, baseline_patterns=1_000,
                            baseline_rows=5_000, ica_seeds=3, ica_samples=2_000,
                            ica_presentations=20_000),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("compression", "pm-edges"),
))

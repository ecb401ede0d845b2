"""The experiment's PNG figures, from the runs' metrics.json (no TensorFlow needed).

* ``fig4_pruning_VARIANT.png``: validation metric per pruning round per task (papers' Fig. 4),
  one line per seed, picked rounds starred;
* ``fig3_mask_overlap_VARIANT.png``: per sNET layer, the fraction of mask entries kept by both
  tasks / CTR only / CVR only / pruned by both, averaged over seeds (Fig. 3);
* ``training_curves.png``: final-training loss per task over training (windowed step means),
  one line per variant (seed 0 solid, other seeds faint);
* ``test_metrics.png``: test CVR MSE and CTR AUC per variant, mean ± std over seeds;
* ``sharing_VARIANT.png``: per sNET layer, the Jaccard of the two masks and each task's
  task-only fraction of its kept weights; per pruning round, sNET's movement from theta and
  the Jaccard of the tasks' masks at that round's sparsity (``diagnostics``);
* ``gradient_balance.png``: CTR:CVR ratios of steps, summed shared-gradient norms and summed
  learning rates during final training, per variant.
"""

from __future__ import annotations

import os
from typing import Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lt4rec.models import plots  # noqa: E402

_OVERLAP_KEYS = ("entries", "shared", "ctr_only", "cvr_only", "pruned_by_both")


def pruning_rounds(runs: Dict[int, dict], path: str, variant: str) -> str:
    """Fig. 4 for one sparse variant; ``runs``: seed -> metrics.json (one line per seed)."""
    return plots.plot_pruning_rounds(
        {f"seed {seed}": run["mask_search"] for seed, run in sorted(runs.items())}, path,
        f"{variant}: validation metric per pruning round")


def mean_mask_statistics(runs: Dict[int, dict]) -> List[dict]:
    """Per layer, the mask statistics' counts averaged over seeds (same layers in every run)."""
    stats = [run["mask_statistics"] for run in runs.values()]
    out = []
    for i, layer in enumerate(stats[0]):
        out.append(dict({k: float(np.mean([s[i][k] for s in stats])) for k in _OVERLAP_KEYS},
                        layer=layer["layer"]))
    return out


def mask_overlap(runs: Dict[int, dict], path: str, variant: str) -> str:
    """Fig. 3 for one sparse variant (counts averaged over seeds)."""
    return plots.plot_mask_overlap(mean_mask_statistics(runs), path,
                                   f"{variant}: mask overlap per sNET layer "
                                   f"(mean over {len(runs)} seed(s))")


def training_curves(runs: Dict[str, Dict[int, dict]], path: str) -> str:
    """Loss per task over final training, every variant."""
    tasks = ("ctr", "cvr")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (variant, seeds) in enumerate(runs.items()):
        color = colors[i % len(colors)]
        for j, (seed, run) in enumerate(sorted(seeds.items())):
            for ax, task in zip(axes[0], tasks):
                curve = run.get("train_loss_curve", {}).get(task, [])
                if not curve:
                    continue
                xs = np.linspace(0, 1, len(curve))
                ax.plot(xs, curve, color=color, alpha=1.0 if j == 0 else 0.3,
                        label=variant if j == 0 else None)
    for ax, task in zip(axes[0], tasks):
        ax.set_xlabel("fraction of final training")
        ax.set_ylabel(f"{task.upper()} training loss" + (" (log loss)" if task == "ctr"
                                                         else " (CVR loss; ESMM: CTCVR)"))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("final training loss (windowed step means; seed 0 solid, other seeds faint)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def test_metrics(summary: Dict[str, Dict], path: str) -> str:
    """Bars of test CVR MSE and CTR AUC per variant with std over seeds as error bars."""
    variants = list(summary)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), squeeze=False)
    for ax, metric, label in ((axes[0][0], "cvr_mse", "test CVR MSE (lower is better)"),
                              (axes[0][1], "ctr_auc", "test CTR AUC (higher is better)")):
        means = [summary[v][metric]["mean"] for v in variants]
        stds = [summary[v][metric]["std"] or 0.0 for v in variants]
        ax.bar(variants, means, yerr=stds, capsize=4, color="tab:blue", alpha=0.8)
        low = min(m - s for m, s in zip(means, stds))
        high = max(m + s for m, s in zip(means, stds))
        pad = (high - low) * 0.3 or abs(high) * 0.01 or 0.01
        ax.set_ylim(low - pad, high + pad)
        ax.set_title(label)
        ax.tick_params(axis="x", rotation=30)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_figures(runs: Dict[str, Dict[int, dict]], summary: Dict[str, Dict],
                  out_dir: str) -> List[str]:
    """Every figure above into ``out_dir``; returns the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    paths = [training_curves(runs, os.path.join(out_dir, "training_curves.png")),
             test_metrics(summary, os.path.join(out_dir, "test_metrics.png"))]
    for variant, seeds in runs.items():
        sparse = {s: r for s, r in seeds.items() if "mask_search" in r}
        if sparse:
            paths.append(pruning_rounds(sparse, os.path.join(
                out_dir, f"fig4_pruning_{variant}.png"), variant))
            paths.append(mask_overlap(sparse, os.path.join(
                out_dir, f"fig3_mask_overlap_{variant}.png"), variant))
    return paths


def _bars(ax, labels, series, title, ylabel):
    """Grouped bars: ``series`` = [(name, means, stds)] over ``labels``."""
    width = 0.8 / max(len(series), 1)
    xs = np.arange(len(labels))
    for i, (name, means, stds) in enumerate(series):
        ax.bar(xs + i * width, means, width, yerr=stds, capsize=3, label=name)
    ax.set_xticks(xs + width * (len(series) - 1) / 2)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)


def _mean_std(summary) -> tuple:
    return summary.get("mean") or 0.0, summary.get("std") or 0.0


def sharing_and_movement(diag: Dict, path: str, variant: str) -> str:
    """Per sNET layer: Jaccard and task-only fractions; per round: movement from theta."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 3.8), squeeze=False)
    layers = diag["mask_sharing"]
    keys = (("jaccard", "Jaccard(CTR, CVR)"), ("ctr_only_of_kept", "CTR-only / CTR kept"),
            ("cvr_only_of_kept", "CVR-only / CVR kept"))
    _bars(axes[0][0], [l["layer"] for l in layers],
          [(label, *zip(*[_mean_std(l[k]) for l in layers])) for k, label in keys],
          "mask sharing per sNET layer (mean ± std over seeds)", "fraction")
    ax = axes[0][1]
    for task, rounds in diag.get("round_movement", {}).items():
        means, stds = zip(*[_mean_std(r["snet"]) for r in rounds])
        ax.errorbar(range(len(rounds)), means, yerr=stds, marker="o", capsize=3,
                    label=task.upper())
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("pruning round")
    ax.set_ylabel("||w - θ|| / ||θ|| over sNET kernels")
    ax.set_title("how far each round moved sNET from θ", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[0][2]
    overlap = diag.get("round_overlap") or []
    if overlap:
        xs = [r["sparsity"] for r in overlap]
        means, stds = zip(*[_mean_std(r["jaccard"]) for r in overlap])
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label="CTR vs CVR masks")
        ax.plot(xs, [r["jaccard_if_independent"] or 0.0 for r in overlap], "k--",
                label="independent masks")
    ax.set_xlabel("sparsity of the round's masks")
    ax.set_ylabel("Jaccard(CTR, CVR)")
    ax.set_ylim(0, 1.05)
    ax.set_title("the tasks' masks round by round (equal sparsity)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(f"{variant}: do the tasks find different sub-networks?")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def gradient_balance(diags: Dict[str, Dict], path: str) -> str:
    """CTR:CVR ratios of steps, summed shared-gradient norms and learning rates per variant."""
    variants = [v for v, d in diags.items() if "gradient_balance" in d]
    keys = (("steps_ratio", "steps"), ("grad_norm_ratio", "summed shared-gradient norm"),
            ("learning_rate_ratio", "summed learning rate"))
    fig, ax = plt.subplots(figsize=(1.8 * len(variants) + 4, 3.8))
    _bars(ax, variants, [(label, *zip(*[_mean_std(diags[v]["gradient_balance"][k])
                                        for v in variants])) for k, label in keys],
          "CTR : CVR during final training (1 = balanced)", "CTR / CVR")
    ax.axhline(1.0, color="gray", lw=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_diagnostics_figures(diags: Dict[str, Dict], out_dir: str) -> List[str]:
    """``sharing_VARIANT.png`` per sparse variant and ``gradient_balance.png``."""
    paths = [sharing_and_movement(d, os.path.join(out_dir, f"sharing_{v}.png"), v)
             for v, d in diags.items() if d.get("mask_sharing")]
    if any("gradient_balance" in d for d in diags.values()):
        paths.append(gradient_balance(diags, os.path.join(out_dir, "gradient_balance.png")))
    return paths

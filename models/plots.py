"""PNG figures of a training run: pruning curves (papers' Fig. 4) and mask overlap (Fig. 3)."""

from __future__ import annotations

from typing import Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_pruning_curves(search: Dict, path: str, title: str = "") -> str:
    """Validation metric per pruning round for each task (x: sparsity), picked round marked."""
    tasks = search["tasks"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    for ax, (task, info) in zip(axes[0], tasks.items()):
        rounds = info["rounds"]
        xs = [r["sparsity"] for r in rounds]
        ys = [r["validation"] for r in rounds]
        ax.plot(xs, ys, "o-", color="tab:blue")
        pick = rounds[info["picked_round"]]
        ax.plot([pick["sparsity"]], [pick["validation"]], "r*", markersize=14, label="picked")
        ax.set_xlabel("sparsity of sNET mask")
        ax.set_ylabel(f"validation {rounds[0]['metric']}")
        ax.set_title(f"{task.upper()} pruning rounds")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_mask_overlap(stats: List[Dict], path: str, title: str = "") -> str:
    """Stacked bars per sNET layer: shared / CTR-only / CVR-only / pruned by both (fractions)."""
    parts = [("shared", "tab:purple"), ("ctr_only", "tab:blue"), ("cvr_only", "tab:orange"),
             ("pruned_by_both", "lightgray")]
    fig, ax = plt.subplots(figsize=(1.6 * len(stats) + 3, 3.6))
    bottom = [0.0] * len(stats)
    labels = [s["layer"] for s in stats]
    for key, color in parts:
        values = [s[key] / max(s["entries"], 1) for s in stats]
        ax.bar(labels, values, bottom=bottom, color=color, label=key.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("fraction of mask entries")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title or "sNET mask overlap per layer")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

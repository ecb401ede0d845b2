"""PNG figures of a training run: pruning curves (papers' Fig. 4) and mask overlap (Fig. 3)."""

from __future__ import annotations

import os
from typing import Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PRUNING_CURVES_PNG = "pruning_curves.png"
MASK_OVERLAP_PNG = "mask_overlap.png"


def plot_pruning_curves(search: Dict, path: str, title: str = "") -> str:
    """Validation metric per pruning round for each task of one mask search (papers' Fig. 4).

    Args:
      search: ``SearchResult.to_dict()`` (``metrics.json["mask_search"]``).
    Returns:
      ``path``.
    """
    return plot_pruning_rounds({"": search}, path, title)


def plot_pruning_rounds(searches: Dict[str, Dict], path: str, title: str = "") -> str:
    """Validation metric per pruning round (x: the task's sNET sparsity), one panel per task,
    one line per search (e.g. per seed), each search's picked round starred.

    Args:
      searches: label -> ``SearchResult.to_dict()``; an empty label draws no legend entry.
      path: PNG to write.
    Returns:
      ``path``.
    """
    tasks = list(next(iter(searches.values()))["tasks"])
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for label, search in searches.items():
            info = search["tasks"][task]
            rounds = info["rounds"]
            line, = ax.plot([r["sparsity"] for r in rounds], [r["validation"] for r in rounds],
                            "o-", alpha=0.8, label=label or None)
            pick = rounds[info["picked_round"]]
            ax.plot([pick["sparsity"]], [pick["validation"]], "*", color=line.get_color(),
                    markersize=14)
        metric = rounds[0]["metric"]
        ax.set_xlabel("sparsity of the task's sNET mask (round 0 = unpruned)")
        ax.set_ylabel(f"validation {metric.replace('_', ' ').upper()}")
        ax.set_title(f"{task.upper()} pruning rounds (★ = picked)")
        ax.grid(alpha=0.3)
        if any(searches):
            ax.legend(fontsize=8)
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


def write_mask_figures(search: Dict, statistics: List[Dict], out_dir: str,
                       title: str = "") -> List[str]:
    """A sparse run's two figures: ``pruning_curves.png`` and ``mask_overlap.png`` in ``out_dir``.

    Args:
      search: ``SearchResult.to_dict()``; statistics: ``pruning.mask_statistics`` of the masks.
    Returns:
      The paths written.
    """
    return [plot_pruning_curves(search, os.path.join(out_dir, PRUNING_CURVES_PNG), title),
            plot_mask_overlap(statistics, os.path.join(out_dir, MASK_OVERLAP_PNG), title)]

"""Prints the ladder table of docs/results/regime_study/README.md from a study.json."""
import json, sys
d = json.load(open(sys.argv[1]))
peers = ["single_task", "hard_share", "mmoe", "ple"]
names = {"single_task": "SingleTask", "hard_share": "LayerShare", "mmoe": "MMoE", "ple": "PLE"}
def fmt(x):
    r, p = x["relative"], x["p_value"]
    return f"{r:+.2%} ({'better' if r < 0 else 'worse'}), p {p:.2g}"
print("| ladder | point | " + " | ".join(f"S-Weight tuned vs {names[p]}" for p in peers)
      + " | CTR AUC vs SingleTask | LayerShare vs SingleTask | grad-norm ratio CTR:CVR (LayerShare / S-Weight) | mask Jaccard (vs independent) |")
print("|" + "---|" * (2 + len(peers) + 4))
for ladder, points in d["ladders"].items():
    for pt in points:
        if not pt["finished"]:
            continue
        rm = pt["reference_minus"]
        cells = [fmt(rm[p]["cvr_mse"]) if p in rm else "–" for p in peers]
        auc = rm["single_task"]["ctr_auc"] if "single_task" in rm else None
        auc_s = f"{auc['mean']:+.4f} (p {auc['p_value']:.2g})" if auc else "–"
        hs = pt["minus_single_task"].get("hard_share", {}).get("cvr_mse")
        hs_s = fmt(hs) if hs else "–"
        mech = pt.get("mechanism", {})
        g = lambda v: f"{mech.get(v, {}).get('grad_norm_ratio', float('nan')):.1f}"
        sw = mech.get("sparse_weight_tuned", {})
        jac = (f"{sw['mask_jaccard']:.2f} ({sw['mask_jaccard_if_independent']:.2f})"
               if "mask_jaccard" in sw else "–")
        print(f"| {ladder} | {pt['label']} | " + " | ".join(cells)
              + f" | {auc_s} | {hs_s} | {g('hard_share')} / {g('sparse_weight_tuned')} | {jac} |")

import json, sys
from lt4rec.experiment.study import paired_difference
O = "/work/study_out"
def load(p): return json.load(open(p))
def vals(rep, v, m):
    r = rep["variants"][v]; return dict(zip(r["seeds"], r["test"][m]["values"]))
def pd(a, b):
    s = sorted(set(a) & set(b)); return paired_difference([a[k] for k in s], [b[k] for k in s])
import numpy as np
def line(rep, ref, others, title):
    print("##", title)
    for v in rep["variants"]:
        c, a = vals(rep, v, "cvr_mse"), vals(rep, v, "ctr_auc")
        c_, a_ = np.array(list(c.values())), np.array(list(a.values()))
        s = f"| {v} | {c_.mean():.5f} ± {c_.std(ddof=1):.5f} | {a_.mean():.4f} ± {a_.std(ddof=1):.4f} |"
        if v != ref:
            d = pd(c, vals(rep, ref, "cvr_mse")); e = pd(a, vals(rep, ref, "ctr_auc"))
            s += f" {d['relative']:+.2%} [{d['relative_ci95'][0]:+.2%}, {d['relative_ci95'][1]:+.2%}] p {d['p_value']:.2g} | AUC {e['mean']:+.4f} p {e['p_value']:.2g} |"
        print(s)
p = load(f"{O}/papers_local10/report.json")
line(p, "single_task", None, "papers_local10 (vs single_task)")
print("## papers_local10: sparse_weight_tuned minus each")
for o in ["single_task", "hard_share", "mmoe", "ple"]:
    d = pd(vals(p, "sparse_weight_tuned", "cvr_mse"), vals(p, o, "cvr_mse")); e = pd(vals(p, "sparse_weight_tuned", "ctr_auc"), vals(p, o, "ctr_auc"))
    print(f"| {o} | {d['relative']:+.2%} | [{d['relative_ci95'][0]:+.2%}, {d['relative_ci95'][1]:+.2%}] | {d['p_value']:.2g} | {e['mean']:+.4f} | {e['p_value']:.2g} |")
print("## ablation")
for name, masks, nm in [("papers", f"{O}/papers_local10/report.json", f"{O}/ablation_nomask/papers_case/report.json"),
                        ("base", f"{O}/regime2/worlds/fba3e42b9c/experiment/report.json", f"{O}/ablation_nomask/base/report.json")]:
    a = vals(load(masks), "sparse_weight_tuned", "cvr_mse"); b = vals(load(nm), "sparse_weight_tuned", "cvr_mse")
    d = pd(a, b); st = vals(load(masks), "single_task", "cvr_mse"); hs = vals(load(masks), "hard_share", "cvr_mse")
    d2 = pd(b, st); d3 = pd(b, hs)
    print(f"{name}: n {d['n']} masks {np.mean(list(a.values())):.5f} nomask {np.mean(list(b.values())):.5f} masks-nomask {d['relative']:+.2%} p {d['p_value']:.2g}; nomask vs ST {d2['relative']:+.2%} p {d2['p_value']:.2g}; vs LS {d3['relative']:+.2%} p {d3['p_value']:.2g}")
t = load(f"{O}/table2_papers_case/report.json")
line(t, "single_task", None, "table2 papers case (vs single_task)")
for v in ["hard_share", "mmoe", "ple"]:
    d = pd(vals(t, "sparse_weight", "cvr_mse"), vals(t, v, "cvr_mse")); print(f"sparse_weight vs {v}: {d['relative']:+.2%} p {d['p_value']:.2g}")
d = pd(vals(t, "sparse_weight", "cvr_mse"), vals(t, "shared_mlp", "cvr_mse")); print(f"sparse_weight vs shared_mlp: {d['relative']:+.2%} p {d['p_value']:.2g}")
print("picked sparsity:", {v: t["variants"][v].get("picked_sparsity") for v in ["sparse_weight"]} )

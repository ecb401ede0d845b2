#!/bin/bash
# Issue 12 item 3: the papers' whole Table 2 + PLE (+ the ablation shared_mlp and the tuned
# preset) in one harness and one report, every variant at its preset defaults, 5 seeds, on the
# study's papers'-case world (chosen before any run: the one regime where sharing helped CVR).
B=/work/wt-exp/.venv/bin
O=/work/study_out
PW=$O/regime2/worlds/331f77f8e1
cd /work/wt-exp
echo "=== $(date -u +%H:%M:%S) table2"
$B/lt4rec experiment --data $PW/logs --variants single_task,hard_share,sparse_weight,sparse_neuron,sparse_weight_balance,sparse_weight_conflict,sparse_weight_multiview,sparse_weight_big,sparse_weight_tuning,mmoe,esmm,ple,shared_mlp,sparse_weight_tuned --seeds 5 --out $O/table2_papers_case --config $PW/experiment_config.json --quiet --note "issue 12 item 3: the papers' Table 2 variants, MMoE, ESMM, PLE, shared_mlp (S-Weight with all-ones masks) and sparse_weight_tuned, every variant at its preset defaults (no tuning), 5 seeds, on the regime study's papers'-case world (lt4rec/experiment/studies/regime.json, ladder papers_case: ctr 0.05, w_affinity 1.6, v_affinity 1.3, w_appeal 0.2, v_quality 0.2; 10 days x 20,000 rows, world seed 11; 8 train / 1 validation / 1 test day)" || echo FAIL
echo "=== $(date -u +%H:%M:%S) table2 done"

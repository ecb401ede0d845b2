#!/bin/bash
# Regenerates issue 12's study outputs (the earlier session's folder was lost with its machine).
# Sequential, each step resumable. Run from the experiment worktree.
B=/work/wt-exp/.venv/bin
O=/work/study_out
S=$O/regime2
cd /work/wt-exp
step() { echo "=== $(date -u +%H:%M:%S) $*"; }
BASE="cvr_sparsity=ctr 0.15"
PAPERS="papers_case=ctr 0.05 + much shared + weak conflict"
step simulate
$B/python $O/sim_only.py $S "$BASE" "$PAPERS" || exit 1
BW=$S/worlds/fba3e42b9c; PW=$S/worlds/331f77f8e1
step tune baselines base world
$B/lt4rec tune --data $BW/logs --variants single_task,hard_share,mmoe,ple --trials 16 --out $O/tune16_20k --config $BW/experiment_config.json --seed 0 --quiet || echo FAIL tune
step study papers_case
$B/lt4rec study --out $S --tuned-dir $O/tune16_20k --points "$PAPERS" || echo FAIL
step study base
$B/lt4rec study --out $S --tuned-dir $O/tune16_20k --points "$BASE" || echo FAIL
step ablation papers
echo '{"trainer":{"test_days":1,"validation_days":1},"pruning":{"rounds":1}}' > $O/nomask.json
$B/lt4rec experiment --data $PW/logs --variants sparse_weight_tuned --seeds 10 --out $O/ablation_nomask/papers_case --config $O/nomask.json --quiet || echo FAIL
step tune baselines papers world
$B/lt4rec tune --data $PW/logs --variants single_task,hard_share,mmoe,ple --trials 16 --out $O/tune16_papers --config $PW/experiment_config.json --seed 0 --quiet || echo FAIL
step papers_local10
$B/lt4rec experiment --data $PW/logs --variants single_task,hard_share,mmoe,ple,sparse_weight_tuned --seeds 10 --out $O/papers_local10 --config $PW/experiment_config.json --tuned-dir $O/tune16_papers --quiet || echo FAIL
step ablation base
$B/lt4rec experiment --data $BW/logs --variants sparse_weight_tuned --seeds 5 --out $O/ablation_nomask/base --config $O/nomask.json --quiet || echo FAIL
step tune sparse_weight base world
$B/lt4rec tune --data $BW/logs --variants single_task,hard_share,mmoe,ple,sparse_weight --trials 16 --out $O/tune16_20k --config $BW/experiment_config.json --seed 0 --quiet || echo FAIL tune
for P in "cvr_sparsity=ctr 0.05" "shared=much (1.6/1.3)" "cvr_sparsity=ctr 0.41" "conflict=weak (0.2/0.2)" "conflict=strong (1.6/1.6)" "shared=little (0.4/0.3)" "rows_per_day=10k" "rows_per_day=50k"; do
  step study "$P"
  $B/lt4rec study --out $S --tuned-dir $O/tune16_20k --points "$P" || echo FAIL
done
step all done

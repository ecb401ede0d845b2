"""Algorithm 1 and training: selection, rewinding, masks respected by optimizer state."""

import numpy as np
import pytest

from lt4rec.models import lottery, pruning
from lt4rec.models.lottery import select_round
from lt4rec.models.ranker import build_model
from lt4rec.models.tasks import CTR, CVR
from lt4rec.models.training import Trainer

from conftest import tiny_config


def test_select_round_sparsest_within_tolerance():
    # higher is better (AUC): best 0.700; 1% tolerance admits 0.695 at sparsity 0.36
    assert select_round([0.70, 0.699, 0.695, 0.60], [0, 0.2, 0.36, 0.49], True, 0.01) == 2
    # lower is better (MSE)
    assert select_round([0.130, 0.128, 0.140], [0, 0.2, 0.36], False, 0.0) == 1
    # min sparsity forces a pruned round although round 0 is best
    assert select_round([0.70, 0.68, 0.66], [0, 0.2, 0.36], True, 0.0, min_sparsity=0.1) == 1


def test_pick_rules_best_fixed_and_tolerance():
    from lt4rec.models.config import PruningConfig
    scores, sparsity = [0.130, 0.129, 0.1295, 0.140], [0, 0.2, 0.36, 0.49]  # MSE: lower better
    tol = PruningConfig(rounds=4, tolerance=0.01)
    assert lottery.pick_round(scores, sparsity, False, tol) == 2       # sparsest within 1%
    assert lottery.pick_round(scores, sparsity, False,
                              PruningConfig(rounds=4, tolerance=0.01, pick="best")) == 1
    assert lottery.pick_round(scores, sparsity, False,
                              PruningConfig(rounds=4, pick="fixed", pick_round=3)) == 3
    with pytest.raises(ValueError, match="pick_round"):
        PruningConfig(rounds=3, pick="fixed", pick_round=3)


def test_relative_movement_by_hand():
    # theta (3, 4) has norm 5; w - theta = (0, 1) in one array and (1, 0) in the other: sqrt(2)/5
    assert lottery.relative_movement([np.array([3.0, 5.0])], [np.array([3.0, 4.0])]) == 0.2
    assert lottery.relative_movement([np.array([4.0]), np.array([5.0])],
                                     [np.array([3.0]), np.array([4.0])]) == pytest.approx(
        np.sqrt(2) / 5)


def test_round_overlap_compares_the_tasks_masks_round_by_round():
    def rnd(r, masks):
        return lottery.Round(r, 0.0, pruning.sparsity(masks), "m", 0.0, masks)
    ones = [np.ones((2, 2), np.float32)]
    ctr = [np.array([[1, 1], [0, 0]], np.float32)]
    cvr = [np.array([[1, 0], [1, 0]], np.float32)]          # both keep 1 of the 3 kept: 1/3
    search = lottery.MaskSearch([], {CTR: [rnd(0, ones), rnd(1, ctr)],
                                     CVR: [rnd(0, ones), rnd(1, cvr)]}, {CTR: 1, CVR: 1}, 0.0)
    overlap = search.to_dict()["round_overlap"]
    assert [o["jaccard"] for o in overlap] == [1.0, pytest.approx(1 / 3)]
    assert overlap[1]["jaccard_per_layer"] == [pytest.approx(1 / 3)] and overlap[1]["sparsity"] == 0.5


def _sparse_model(tiny_dataset, variant="sparse_weight", **sections):
    config = tiny_config(variant, **sections)
    return config, build_model(config, tiny_dataset.train.features)


def test_search_rounds_follow_schedule_rewind_theta_and_read_only_validation(tiny_dataset,
                                                                            monkeypatch):
    config, model = _sparse_model(tiny_dataset)
    seen = []
    real = lottery.validation_score
    monkeypatch.setattr(lottery, "validation_score",
                        lambda m, split, task, cfg: seen.append(split.name) or real(m, split, task,
                                                                                    cfg))
    result = lottery.search_masks(model, config, tiny_dataset.train, tiny_dataset.validation)
    assert set(seen) == {"validation"}
    targets = pruning.round_sparsities(config.pruning)
    for task in (CTR, CVR):
        for rnd, target in zip(result.rounds[task], targets):
            per_layer = [(m == 0).mean() for m in rnd.masks]
            assert all(abs(s - target) <= 1.0 / m.size for s, m in zip(per_layer, rnd.masks))
        np.testing.assert_array_equal(
            [l.task_mask(task) for l in model.masked_layers][0], result.masks(task)[0])
        moved = [rnd.movement for rnd in result.rounds[task]]
        # every round trains from theta, so every round moved sNET (and the net) off theta
        assert all(m["snet"] > 0.0 and m["all"] > 0.0 for m in moved)
    # rewound: every non-mask weight equals theta
    for w, theta, v in zip(model.get_weights(), result.theta, model.weights):
        if "masks" not in v.name:
            np.testing.assert_array_equal(w, theta)


def test_round_knobs_reach_the_rounds_and_fixed_pick_keeps_that_round(tiny_dataset,
                                                                      monkeypatch):
    config, model = _sparse_model(tiny_dataset, pruning={
        "round_epochs": 0.5, "round_learning_rate": 0.05, "importance": "movement",
        "pick": "fixed", "pick_round": 2})
    calls = []
    real_fit = Trainer.fit

    def spy(self, epochs=1.0, tasks=(CTR, CVR), **kwargs):
        calls.append((epochs, tuple(tasks), [float(o.learning_rate) for o in self.optimizers]))
        return real_fit(self, epochs, tasks, **kwargs)
    monkeypatch.setattr(Trainer, "fit", spy)
    result = lottery.search_masks(model, config, tiny_dataset.train, tiny_dataset.validation)
    warmup, rounds = calls[0], calls[1:]
    assert warmup[0] == 0.5 and warmup[2] == [pytest.approx(0.01)] * 2   # trainer's own lr
    assert len(rounds) == 2 * config.pruning.rounds
    assert all(e == 0.5 and lr == [pytest.approx(0.05)] * 2 for e, _, lr in rounds)
    assert result.picked == {CTR: 2, CVR: 2}
    assert result.to_dict()["tasks"]["cvr"]["rounds"][2]["sparsity"] > 0


def test_masked_weights_never_move_by_their_task_optimizer_state_included(tiny_dataset):
    config, model = _sparse_model(tiny_dataset)
    layer = model.masked_layers[0]
    rng = np.random.default_rng(0)
    ctr_mask = (rng.random(layer.kernel.shape) > 0.5).astype(np.float32)
    both_mask = ctr_mask.copy()
    both_mask[:, : both_mask.shape[1] // 2] = 1.0         # CVR keeps more than CTR
    layer.set_task_mask(CTR, ctr_mask)
    layer.set_task_mask(CVR, both_mask)
    before = layer.kernel.numpy().copy()
    trainer = Trainer(model, config, tiny_dataset.train, mode="alternate")
    trainer.fit(1.0)                                        # mixed CTR and CVR steps
    after = layer.kernel.numpy()
    pruned_by_both = (ctr_mask == 0) & (both_mask == 0)
    np.testing.assert_array_equal(after[pruned_by_both], before[pruned_by_both])
    assert np.any(after[(ctr_mask == 0) & (both_mask == 1)] !=
                  before[(ctr_mask == 0) & (both_mask == 1)])   # CVR moved what it keeps
    # CTR's own Adam moments are exactly zero wherever CTR's mask is zero.
    ctr_slots = [v for v in trainer.optimizers[CTR].variables
                 if tuple(v.shape) == tuple(layer.kernel.shape)]
    assert ctr_slots
    for slot in ctr_slots:
        assert np.all(slot.numpy()[ctr_mask == 0] == 0)


def test_joint_mode_never_moves_weights_pruned_by_both(tiny_dataset):
    config, model = _sparse_model(tiny_dataset, trainer={"mode": "joint"})
    layer = model.masked_layers[1]
    mask = (np.random.default_rng(1).random(layer.kernel.shape) > 0.3).astype(np.float32)
    for t in (CTR, CVR):
        layer.set_task_mask(t, mask)
    before = layer.kernel.numpy().copy()
    Trainer(model, config, tiny_dataset.train).fit(1.0)
    np.testing.assert_array_equal(layer.kernel.numpy()[mask == 0], before[mask == 0])
    assert np.any(layer.kernel.numpy()[mask == 1] != before[mask == 1])


@pytest.mark.parametrize("variant", ["sparse_weight", "sparse_neuron"])
def test_all_ones_masks_equal_hard_sharing_of_the_mlp(tiny_dataset, variant):
    """With all-ones masks, sparse sharing is one fully shared MLP with task heads."""
    config, model = _sparse_model(tiny_dataset, variant)
    feats = {k: v[:64] for k, v in tiny_dataset.test.features.items()}
    for task in (CTR, CVR):
        x = model.input_arch_for(task)(feats, task=task).numpy()
        for layer in model.masked_layers:                     # a plain shared MLP
            x = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0)
        head = model.heads[task]
        expected = 1 / (1 + np.exp(-(x @ head.kernel.numpy() + head.bias.numpy())))
        np.testing.assert_allclose(model.task_output(feats, task).numpy(), expected.ravel(),
                                   rtol=1e-4, atol=1e-5)


def test_shared_mlp_preset_keeps_all_ones_masks(tiny_dataset):
    config = tiny_config("shared_mlp", pruning={"rounds": 1})  # the preset's own setting
    model = build_model(config, tiny_dataset.train.features)
    result = lottery.search_masks(model, config, tiny_dataset.train, tiny_dataset.validation)
    assert all(np.all(m == 1) for t in (CTR, CVR) for m in result.masks(t))


def test_mirrored_step_equals_single_device_step_and_respects_masks(tiny_logs):
    import json
    import os
    import subprocess
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run([sys.executable, os.path.join(here, "distributed_step_check.py"),
                           str(tiny_logs), here], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["single"]["replicas"] == 1 and out["mirrored"]["replicas"] == 2
    assert not out["single"]["masked_moved"] and not out["mirrored"]["masked_moved"]
    for rows in ("", "_63"):  # 64 rows, then 63 (32 + 31 on the replicas)
        np.testing.assert_allclose(out["mirrored" + rows]["delta"], out["single" + rows]["delta"],
                                   atol=1e-5)
        assert abs(out["mirrored" + rows]["loss"] - out["single" + rows]["loss"]) < 1e-4

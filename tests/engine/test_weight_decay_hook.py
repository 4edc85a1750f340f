"""CosineWeightDecayHook: the reference's ``utils.cosine_scheduler`` for the weight decay
(``--weight_decay_end``), per iteration, on the decayed parameter groups only; and the
numeric guard of the pretraining recipes under fp16 AMP."""
import math
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from umt_mm.engine import NonFiniteTrainingError, NumericGuardHook
from umt_mm.engine.hooks import CosineWeightDecayHook
from umt_mm.engine.hooks.weight_decay_hook import cosine_weight_decay


def reference_cosine_scheduler(base_value, final_value, epochs, niter_per_ep):
    """``single_modality/utils.py:cosine_scheduler`` without warmup (as the wd one is)."""
    iters = np.arange(epochs * niter_per_ep)
    return np.array([final_value + 0.5 * (base_value - final_value)
                     * (1 + math.cos(math.pi * i / len(iters))) for i in iters])


def test_formula_by_hand():
    # start, a quarter, half and three quarters of 100 iterations from 0.05 to 0.2
    assert cosine_weight_decay(0.05, 0.2, 0, 100) == pytest.approx(0.05)
    assert cosine_weight_decay(0.05, 0.2, 25, 100) == pytest.approx(
        0.2 - 0.075 * (1 + math.sqrt(0.5)))  # 0.07197
    assert cosine_weight_decay(0.05, 0.2, 50, 100) == pytest.approx(0.125)
    assert cosine_weight_decay(0.05, 0.2, 75, 100) == pytest.approx(0.2 - 0.075 *
                                                                    (1 - math.sqrt(0.5)))
    reference = reference_cosine_scheduler(0.05, 0.2, 3, 7)
    ours = [cosine_weight_decay(0.05, 0.2, i, 21) for i in range(21)]
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-15)


def fake_runner(max_iters: int):
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    optimizer = torch.optim.AdamW([
        dict(params=[net[0].weight], weight_decay=0.05),
        dict(params=[net[0].bias, net[1].weight, net[1].bias], weight_decay=0.0)], lr=0.1)
    hub = MessageHub.get_instance(f'wd-{uuid.uuid4().hex}')
    return SimpleNamespace(optim_wrapper=OptimWrapper(optimizer), iter=0, max_iters=max_iters,
                           message_hub=hub), net


def run_iters(hook, runner, iters):
    values = []
    for it in iters:
        runner.iter = it
        hook.before_train_iter(runner, batch_idx=it)
        groups = runner.optim_wrapper.optimizer.param_groups
        values.append((groups[0]['weight_decay'], groups[1]['weight_decay'],
                       runner.message_hub.get_scalar('train/weight_decay').current()))
    return values


def test_only_decayed_groups_follow_the_schedule_and_resume_continues():
    hook = CosineWeightDecayHook(weight_decay_end=0.2)
    runner, _ = fake_runner(max_iters=12)
    hook.before_train(runner)
    values = run_iters(hook, runner, range(6))
    reference = reference_cosine_scheduler(0.05, 0.2, 3, 4)
    for it, (decayed, no_decay, logged) in enumerate(values):
        assert decayed == pytest.approx(reference[it], abs=1e-15)
        assert no_decay == 0.0 and logged == decayed
    # a resumed run: the optimizer state (with the scheduled value and the initial one)
    # goes into a fresh optimizer configured with weight decay 0.05
    state = runner.optim_wrapper.optimizer.state_dict()
    resumed, _ = fake_runner(max_iters=12)
    resumed.optim_wrapper.optimizer.load_state_dict(state)
    assert resumed.optim_wrapper.optimizer.param_groups[0]['weight_decay'] == pytest.approx(
        reference[5])
    hook = CosineWeightDecayHook(weight_decay_end=0.2)
    hook.before_train(resumed)
    assert resumed.optim_wrapper.optimizer.param_groups[0]['initial_weight_decay'] == 0.05
    for it, (decayed, no_decay, _) in zip(range(6, 12), run_iters(hook, resumed, range(6, 12))):
        assert decayed == pytest.approx(reference[it], abs=1e-15) and no_decay == 0.0


def test_none_keeps_the_weight_decay_constant():
    hook = CosineWeightDecayHook()
    runner, _ = fake_runner(max_iters=10)
    hook.before_train(runner)
    assert [v[:2] for v in run_iters(hook, runner, range(10))] == [(0.05, 0.0)] * 10
    with pytest.raises(ValueError, match='weight_decay_end must be >= 0'):
        CosineWeightDecayHook(weight_decay_end=-0.1)


def test_amp_non_finite_loss_stops_the_pretraining_run(monkeypatch):
    """fp16 AMP (MMEngine's AmpOptimWrapper, here with torch's CPU GradScaler): a NaN loss
    stops the run before the step, as the reference's ``sys.exit(1)``; a gradient overflow
    of a finite loss is still left to the scaler."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_wrapper_module
    from mmengine.optim import AmpOptimWrapper
    monkeypatch.setattr(amp_wrapper_module, 'is_cuda_available', lambda: True)
    net = torch.nn.Linear(4, 2)
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=16.0, growth_interval=1000)
    hook = NumericGuardHook(action='stop')
    hook._runner = SimpleNamespace(iter=6, model=net)
    hook._wrap(wrapper)
    before = net.weight.detach().clone()
    with pytest.raises(NonFiniteTrainingError,
                       match=r'the loss is nan \(fp16 AMP: a non-finite loss.*iteration 7'):
        wrapper.update_params(net(torch.ones(1, 4)).sum() * float('nan'))
    assert torch.equal(net.weight, before)
    skip = NumericGuardHook(action='skip')
    skip._runner = SimpleNamespace(iter=2, model=net)
    wrapper2 = AmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    wrapper2.loss_scaler = torch.amp.GradScaler('cpu', init_scale=16.0, growth_interval=1000)
    skip._wrap(wrapper2)
    wrapper2.update_params(net(torch.ones(1, 4)).sum() * float('inf'))
    assert torch.equal(net.weight, before) and skip.skipped_iters == [3]
    assert float(wrapper2.loss_scaler.get_scale()) == 16.0  # not the scaler's business

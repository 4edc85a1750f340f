"""NumericGuardHook on an injected NaN (loss and gradient), in 'stop' and 'skip' mode."""
import pytest
import torch
from mmengine.hooks import Hook
from reliability_helpers import CaptureLog, read_logs, tiny_cfg

from umt_mm.engine.hooks import NonFiniteTrainingError, NumericGuardHook


class _InjectNaN(Hook):
    """At one iteration (1-based), make the loss or some parameters' gradients NaN."""

    priority = 'LOWEST'

    def __init__(self, at: int, where: str, params=()):
        self.at, self.where, self.params = at, where, params
        self.handles = []
        self.snapshots = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model
        self.snapshots[runner.iter + 1] = {k: v.detach().clone()
                                           for k, v in model.state_dict().items()}
        if runner.iter + 1 != self.at:
            return
        if self.where == 'loss':
            self.handles.append(model.cls_head.register_forward_hook(
                lambda m, a, out: out * float('nan')))
        else:
            named = dict(model.named_parameters())
            for name in self.params:
                self.handles.append(named[name].register_hook(
                    lambda g: torch.full_like(g, float('nan'))))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for handle in self.handles:
            handle.remove()
        self.handles = []


def _runner(repo_root, toy_videos, tmp_path, action, max_epochs=2):
    from mmengine.runner import Runner
    cfg = tiny_cfg(repo_root, toy_videos, tmp_path / action)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)  # 2 iters / epoch
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.custom_hooks = [dict(type='NumericGuardHook', action=action)]
    cfg.randomness = dict(seed=0)
    return Runner.from_cfg(cfg)


def _trainable(model):
    return [n for n, p in model.named_parameters() if p.requires_grad]


def test_stop_on_nan_loss_names_the_iteration(repo_root, toy_videos, tmp_path):
    runner = _runner(repo_root, toy_videos, tmp_path, 'stop')
    inject = _InjectNaN(at=3, where='loss')
    runner.register_hook(inject)
    with pytest.raises(NonFiniteTrainingError, match=r'the loss is nan at iteration 3'):
        runner.train()
    # the weights are those after iteration 2: the NaN step never reached them
    after = runner.model.state_dict()
    for key, value in inject.snapshots[3].items():
        assert torch.equal(after[key], value), key


def test_stop_on_nan_gradient_names_the_first_parameter(repo_root, toy_videos, tmp_path):
    runner = _runner(repo_root, toy_videos, tmp_path, 'stop')
    names = _trainable(runner.model)
    first, later = names[3], names[7]
    runner.register_hook(_InjectNaN(at=2, where='grad', params=(later, first)))
    with pytest.raises(NonFiniteTrainingError,
                       match=rf"the gradient of parameter '{first}' contains NaN at iteration 2"):
        runner.train()


@pytest.mark.parametrize('where', ['loss', 'grad'])
def test_skip_mode_skips_the_step_and_continues(where, repo_root, toy_videos, tmp_path):
    runner = _runner(repo_root, toy_videos, tmp_path, 'skip')
    inject = _InjectNaN(at=2, where=where, params=(_trainable(runner.model)[2],))
    runner.register_hook(inject)
    runner.train()
    assert runner.iter == 4
    guard = next(h for h in runner.hooks if isinstance(h, NumericGuardHook))
    assert guard.skipped_iters == [2]
    # iteration 2 changed nothing, the others trained; everything stays finite
    params = dict(runner.model.named_parameters())
    snaps = inject.snapshots
    assert all(torch.equal(snaps[2][n], snaps[3][n]) for n in params)
    assert not all(torch.equal(snaps[3][n], snaps[4][n]) for n in params)
    assert all(torch.isfinite(p).all() for p in params.values())
    assert 'at iteration 2: optimizer step skipped' in read_logs(tmp_path / 'skip')


def test_amp_loss_scale_drops_are_logged():
    hook = NumericGuardHook()
    with CaptureLog() as log:
        hook._report_loss_scale(2.0, 1.0)
        hook._report_loss_scale(1.0, 0.5)
    text = log.text
    assert 'loss scale 2 -> 1' in text and 'loss-scale underflow' in text
    assert text.count('underflow') == 1


def test_bad_action():
    with pytest.raises(ValueError, match="'stop' or 'skip'"):
        NumericGuardHook(action='ignore')


def test_fp16_amp_overflow_and_underflow_are_logged(monkeypatch):
    """The AmpOptimWrapper path (MMEngine's GPU wrapper, here with torch's CPU GradScaler):
    the scaler skips overflowing steps and the hook logs each loss-scale drop."""
    from types import SimpleNamespace

    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_wrapper_module
    from mmengine.optim import AmpOptimWrapper
    monkeypatch.setattr(amp_wrapper_module, 'is_cuda_available', lambda: True)
    net = torch.nn.Linear(4, 2)
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=16.0, growth_interval=1000)
    hook = NumericGuardHook(min_loss_scale=4.0)
    hook._runner = SimpleNamespace(iter=0, model=net)
    hook._wrap(wrapper)
    poison = []
    net.weight.register_hook(lambda g: g * float('inf') if poison else g)
    with CaptureLog() as log:
        wrapper.update_params(net(torch.ones(1, 4)).sum())  # a normal step
        stepped = net.weight.detach().clone()
        poison.append(True)
        for it in range(1, 4):
            hook._runner.iter = it
            wrapper.update_params(net(torch.ones(1, 4)).sum())
    assert torch.equal(net.weight, stepped)  # every overflowing step was skipped
    text = log.text
    assert 'AMP overflow at iteration 2: loss scale 16 -> 8' in text
    assert 'AMP overflow at iteration 4: loss scale 4 -> 2' in text
    assert 'AMP loss-scale underflow at iteration 4: scale 2 < 4' in text
    assert 'underflow at iteration 3' not in text

"""``weights_only_checkpoints``: MMEngine 0.10.7 checkpoints under torch's weights-only load."""
import json
import pickle

import pytest
import torch

SAVE_AND_LOAD = '''
import json
import numpy as np
import torch
import umt_mm  # noqa: F401
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint
hub = MessageHub.get_instance('compat-test')
hub.update_scalar('train/loss', 0.5)
hub.update_info('eta', np.float64(12.5))  # a numpy scalar in the runtime info, as Runner's
save_checkpoint({'state_dict': {'w': torch.zeros(1)}, 'message_hub': hub.state_dict(),
                 'meta': {'epoch': np.int64(1)}}, PATH)
try:
    loaded = _load_checkpoint(PATH, map_location='cpu')
    print(json.dumps(dict(ok=True, eta=loaded['message_hub']['runtime_info']['eta'])))
except Exception as err:
    print(json.dumps(dict(ok=False, error=f'{type(err).__name__}: {err}')))
'''


def test_the_pinned_mmengine_still_fails_to_load_its_checkpoints(run_python, tmp_path, capsys):
    """Fails the day MMEngine loads its own checkpoints under torch's weights-only default:
    then remove umt_mm/compat/weights_only_checkpoints.py."""
    code = f'PATH = {str(tmp_path / "a.pth")!r}\n' + SAVE_AND_LOAD
    result = run_python(code, disable='weights_only_checkpoints')
    assert result.returncode == 0, result.stderr[-3000:]
    without = json.loads(result.stdout.strip().splitlines()[-1])
    assert not without['ok'], ('MMEngine now loads its checkpoints by itself: remove '
                               'umt_mm/compat/weights_only_checkpoints.py')
    assert without['error'].startswith('UnpicklingError') and 'Weights only load failed' in (
        without['error'])
    exec(f'PATH = {str(tmp_path / "b.pth")!r}\n' + SAVE_AND_LOAD, {})  # with the fix
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == dict(ok=True,
                                                                                eta=12.5)


class _Hostile:
    def __reduce__(self):
        return (print, ('this must never run',))


def test_hostile_checkpoint_is_refused(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    import umt_mm  # noqa: F401
    path = tmp_path / 'hostile.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': {'x': _Hostile()}}, path)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        _load_checkpoint(str(path), map_location='cpu')


def test_mmengine_checkpoint_resumes_weights_only(tmp_path):
    """A tiny Runner training run saves, then resumes under torch's weights-only load."""
    import numpy as np
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    import umt_mm  # noqa: F401

    class Tiny(BaseModel):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, inputs, labels=None, mode='loss'):
            loss = ((self.lin(inputs) - labels) ** 2).mean()
            return dict(loss=loss)

    data = [dict(inputs=torch.tensor([float(i), 1.0]), labels=torch.tensor([2.0 * i]))
            for i in range(8)]

    def make_runner(max_epochs, resume):
        return Runner(
            model=Tiny(), work_dir=str(tmp_path),
            train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
                                  batch_size=4, collate_fn=dict(type='default_collate')),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
            resume=resume, default_scope='mmengine')

    runner = make_runner(1, False)
    # numpy scalars in the runtime info would pickle through builtins.getattr
    runner.message_hub.update_info('np_scalar', np.float64(1.5), resumed=True)
    runner.train()
    ckpt = tmp_path / 'epoch_1.pth'
    assert ckpt.exists()
    unsafe = {str(g) for g in torch.serialization.get_unsafe_globals_in_checkpoint(str(ckpt))}
    assert 'builtins.getattr' not in unsafe
    assert not any('multiarray.scalar' in g for g in unsafe)
    weight_after_1 = runner.model.lin.weight.detach().clone()

    resumed = make_runner(2, True)
    resumed.train()
    assert resumed.train_loop.epoch == 2
    assert resumed.message_hub.get_info('np_scalar') == 1.5
    assert (tmp_path / 'epoch_2.pth').exists()
    loaded = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu')  # weights_only default
    assert torch.equal(loaded['state_dict']['lin.weight'], weight_after_1)

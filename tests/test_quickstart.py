"""The quickstart end to end in a reduced form (few videos, one epoch)."""
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reduced_quickstart(tmp_path, capfd):
    spec = importlib.util.spec_from_file_location('umt_quickstart', ROOT / 'tools/quickstart.py')
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    args = ['--data-root', str(tmp_path / 'motion8'), '--work-dir', str(tmp_path / 'work'),
            '--train-per-class', '2', '--val-per-class', '1', '--test-per-class', '1',
            '--epochs', '1']
    result = quickstart.main(args)
    printed = capfd.readouterr().out  # the tools' subprocess output too
    assert 0.0 <= result['top1'] <= 1.0
    assert f'test top-1 (8 classes, 2 clips x 3 crops): {100 * result["top1"]:.1f} %' in printed
    assert result['checkpoint'].is_file() and str(result['checkpoint']) in printed
    assert (result['log_dir'] / 'vis_data/scalars.json').is_file()
    assert str(result['log_dir']) in printed
    png = result['curves'].read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10_000
    import decord
    assert len(decord.VideoReader(str(result['demo']))) == 16  # same frames as the input
    # the demo names the true class of the held-out clip beside its prediction
    assert result['true_class'] == 'rotating_counterclockwise'
    assert f"(true class: {result['true_class']})" in printed
    assert re.search(r'^\[demo\] true: rotating_counterclockwise '
                     r'\(score [01]\.\d{3}, rank [1-8]\): top-1 (right|wrong)$',
                     printed, re.M), printed[-3000:]


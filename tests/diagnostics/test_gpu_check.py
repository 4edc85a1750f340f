"""umt_mm.diagnostics.gpu_check (make gpu-check): the summary, the exit status, the CPU run
with the CUDA checks skipped, and a failing check."""
import json
import math
import subprocess
from pathlib import Path

import pytest

from umt_mm.diagnostics import gpu_check
from umt_mm.diagnostics.gpu_check import (
    CheckFailed,
    CheckResult,
    Context,
    Skip,
    exit_code,
    judge_losses,
    run_checks,
    summary_table,
)

ROOT = Path(__file__).resolve().parents[2]


def _ctx(tmp_path, steps=20):
    return Context('cpu', tiny=True, steps=steps, work_dir=tmp_path)


def test_statuses_summary_and_exit_code(tmp_path):
    def ok(ctx):
        return 'fine'

    def numbers(ctx):
        return {'detail': 'err 1e-6', 'values': {'err': 1e-6}}

    def skipped(ctx):
        raise Skip('needs CUDA (no GPU visible)')

    def wrong(ctx):
        raise CheckFailed('loss not falling: first 5 steps 1.0, last 5 1.2')

    def crash(ctx):
        raise ValueError('boom\nsecond line')
    checks = dict(ok=ok, numbers=numbers, skipped=skipped, wrong=wrong, crash=crash)
    lines = []
    results = run_checks(_ctx(tmp_path), checks=checks, echo=lines.append)
    assert [(r.name, r.status) for r in results] == [
        ('ok', 'pass'), ('numbers', 'pass'), ('skipped', 'skip'), ('wrong', 'fail'),
        ('crash', 'fail')]
    assert results[1].values == {'err': 1e-6}
    assert results[4].detail == 'ValueError: boom'  # one line in the table
    assert exit_code(results) == 1
    assert exit_code([r for r in results if r.status != 'fail']) == 0  # skips don't fail
    assert lines[0] == '[gpu-check] ok ...' and lines[1].startswith('[gpu-check] ok: PASS')
    table = summary_table(results, _ctx(tmp_path)).splitlines()
    assert table[0].startswith('gpu-check on CPU only, torch ') and 'tiny models' in table[0]
    assert '| wrong | FAIL |' in table[7]
    assert table[-1] == ('2 passed, 2 failed, 1 skipped (CUDA checks skipped: no GPU '
                         'visible)')
    only = run_checks(_ctx(tmp_path), ['numbers'], checks=checks, echo=lines.append)
    assert [r.name for r in only] == ['numbers']


def test_judge_losses():
    assert judge_losses([3.0] * 5 + [2.0] * 10 + [1.0] * 5, 20).startswith(
        'loss 3.000 -> 1.000')
    with pytest.raises(CheckFailed, match='not falling'):
        judge_losses([1.0] * 20, 20)
    with pytest.raises(CheckFailed, match=r'non-finite loss at step\(s\) \[3\]'):
        judge_losses([3.0, 2.0, math.nan] + [1.0] * 17, 20)
    with pytest.raises(CheckFailed, match='19 steps ran, 20 expected'):
        judge_losses([1.0] * 19, 20)


def test_cpu_run_skips_the_cuda_checks_and_exits_0(tmp_path, capsys):
    out = tmp_path / 'r.json'
    code = gpu_check.main(['--device', 'cpu', '--only',
                           'ops,roi_align,forward,finetune_fp16,benchmark',
                           '--work-dir', str(tmp_path), '--json', str(out)])
    assert code == 0
    rows = {r['name']: r for r in json.loads(out.read_text())}
    assert {k: v['status'] for k, v in rows.items()} == {
        'ops': 'pass', 'roi_align': 'skip', 'forward': 'pass', 'finetune_fp16': 'skip',
        'benchmark': 'skip'}
    assert rows['roi_align']['detail'] == 'needs CUDA (no GPU visible)'
    assert 'CUDA ops not checked' in rows['ops']['detail']
    assert rows['forward']['values']['bfloat16'] <= gpu_check.FORWARD_TOLERANCE['bfloat16']
    text = capsys.readouterr().out
    assert '2 passed, 0 failed, 3 skipped (CUDA checks skipped: no GPU visible)' in text


def test_a_failing_check_gives_exit_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(gpu_check.FORWARD_TOLERANCE, 'bfloat16', 0.0)
    code = gpu_check.main(['--device', 'cpu', '--only', 'forward', '--work-dir', str(tmp_path)])
    assert code == 1
    assert '| forward | FAIL |' in capsys.readouterr().out


def test_tiny_training_checks_on_cpu(tmp_path):
    ctx = _ctx(tmp_path, steps=8)
    results = run_checks(ctx, ['finetune_bf16', 'pretrain'], echo=lambda line: None)
    assert [(r.name, r.status) for r in results] == [('finetune_bf16', 'pass'),
                                                     ('pretrain', 'pass')], results
    fine = results[0].values
    assert fine['wrapper'] == 'CPUAmpOptimWrapper' and len(fine['losses']) == 8
    assert all(math.isfinite(v) for v in fine['losses'] + results[1].values['losses'])


def test_shell_script(tmp_path):
    script = ROOT / 'tools/misc/gpu_check.sh'
    ok = subprocess.run(['bash', str(script), '--device', 'cpu', '--only', 'ops,benchmark',
                         '--work-dir', str(tmp_path)], capture_output=True, text=True,
                        timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert '| benchmark | SKIP |' in ok.stdout and '| ops | PASS |' in ok.stdout
    with pytest.raises(SystemExit, match=r"unknown check\(s\) \['nonsense'\]"):
        gpu_check.main(['--only', 'nonsense'])


def test_every_check_is_documented():
    doc = (ROOT / 'docs/gpu_check.md').read_text()
    for name in gpu_check.CHECKS:
        assert f'`{name}`' in doc, name
    assert isinstance(CheckResult('x', 'pass').seconds, float)


@pytest.mark.slow
def test_full_cpu_run(tmp_path, capsys):
    """Everything that runs without CUDA, at the tiny size (the dist_train.sh run included)."""
    code = gpu_check.main(['--device', 'cpu', '--work-dir', str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0, text[-3000:]
    assert '6 passed, 0 failed, 3 skipped' in text

"""bf16 autocast only where the CPU runs bf16 natively; fp32 elsewhere, saying why once."""
import pytest
import torch
from mmaction.registry import OPTIM_WRAPPERS
from reliability_helpers import CaptureLog

import umt_mm.engine.cpu_amp_optim_wrapper as amp_module
from umt_mm.engine.cpu_bf16 import CPUBf16Support, cpu_bf16_support, read_cpu_flags

NATIVE = CPUBf16Support(True, 'AVX512', ('avx512_bf16',), 'the CPU runs bf16 natively (faked)')
EMULATED = CPUBf16Support(False, 'AVX2', (), 'the CPU has no native bf16 (faked AVX2)')


@pytest.mark.parametrize('flags, capability, native', [
    ({'fpu', 'avx2', 'fma'}, 'AVX2', False),
    ({'avx2', 'avx512f', 'avx512bw'}, 'AVX512', False),  # AVX-512 without its BF16 extension
    ({'avx2', 'avx512f', 'avx512_bf16'}, 'AVX512', True),
    ({'avx2', 'avx512f', 'amx_bf16', 'amx_tile'}, 'AVX512', True),
])
def test_detection(flags, capability, native):
    support = cpu_bf16_support(flags=flags, capability=capability, speedup=2.5)
    assert support.native is native
    assert support.capability == capability and capability in support.reason
    assert ('emulated' in support.reason) is not native


def test_a_bf16_flag_with_slow_bf16_matmuls_stays_fp32():
    # a Xeon with avx512_bf16 where torch's bf16 linear ran at 0.7x the fp32 speed
    support = cpu_bf16_support(flags={'avx512f', 'avx512_bf16'}, capability='AVX512',
                               speedup=0.7)
    assert not support.native and support.flags == ('avx512_bf16',)
    assert '0.70x the fp32 speed' in support.reason and 'slower than fp32' in support.reason


def test_the_probe_measures_a_positive_ratio_once():
    from umt_mm.engine.cpu_bf16 import bf16_matmul_speedup
    bf16_matmul_speedup.cache_clear()
    first = bf16_matmul_speedup(rows=64, dims=64, hidden=128, repeats=1)
    assert first > 0
    assert bf16_matmul_speedup(rows=64, dims=64, hidden=128, repeats=1) == first  # cached


def test_cpuinfo_flags_are_read(tmp_path):
    info = tmp_path / 'cpuinfo'
    info.write_text('processor\t: 0\nflags\t\t: fpu avx2 AVX512_BF16\n\nprocessor\t: 1\n'
                    'flags\t\t: fpu avx2 avx512_bf16\n')
    assert {'fpu', 'avx2', 'avx512_bf16'} == read_cpu_flags(str(info))
    assert read_cpu_flags(str(tmp_path / 'absent')) == set()


def _wrapper(**kwargs):
    net = torch.nn.Linear(8, 8)
    wrapper = OPTIM_WRAPPERS.build(dict(type='CPUAmpOptimWrapper', **kwargs,
                                        optimizer=torch.optim.SGD(net.parameters(), lr=0.1)))
    with wrapper.optim_context(net):
        out = net(torch.randn(2, 8))
    return wrapper, out


@pytest.mark.parametrize('support, dtype', [(NATIVE, torch.bfloat16), (EMULATED, torch.float32)])
def test_wrapper_follows_the_capability(support, dtype, monkeypatch):
    monkeypatch.setattr(amp_module, 'cpu_bf16_support', lambda: support)
    monkeypatch.setattr(amp_module, '_LOGGED', set())
    with CaptureLog() as log:
        wrapper, out = _wrapper()
        _wrapper()  # the reason is logged once
    assert wrapper.autocast_enabled is support.native
    assert out.dtype == dtype
    assert log.text.count(support.reason) == 1
    if not support.native:
        assert 'training in fp32 instead of bfloat16 autocast' in log.text


def test_native_only_false_forces_autocast(monkeypatch):
    monkeypatch.setattr(amp_module, 'cpu_bf16_support', lambda: EMULATED)
    wrapper, out = _wrapper(native_only=False)
    assert wrapper.autocast_enabled and out.dtype == torch.bfloat16

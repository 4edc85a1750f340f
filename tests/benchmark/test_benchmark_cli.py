"""The benchmark's command line: the moved script forwards, the helpers return data."""
import subprocess

import pytest

from umt_mm.benchmark import cpu_description, median, time_interleaved, time_it
from umt_mm.benchmark.cli import build_parser, format_table
from umt_mm.benchmark.resources import recipe_file

NOTICE = 'tools/benchmark.py has moved to tools/analysis_tools/benchmark.py'


def _run(python, repo_root, *args):
    result = subprocess.run([python, *args], cwd=repo_root, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_old_path_forwards_with_one_notice(repo_root, python):
    old = _run(python, repo_root, 'tools/benchmark.py', '--help')
    parser = build_parser()
    parser.prog = 'benchmark.py'  # what both scripts' argv[0] gives
    assert old.stdout == parser.format_help()  # the same command line, the same flags
    for flag in ('--detection', '--pretrain', '--data', '--export', '--gpu', '--json'):
        assert flag in old.stdout
    assert old.stderr.count(NOTICE) == 1


def test_new_path_is_the_package_command_line(repo_root):
    script = (repo_root / 'tools/analysis_tools/benchmark.py').read_text()
    assert 'from umt_mm.benchmark.cli import main' in script and 'sys.path' not in script
    stub = (repo_root / 'tools/benchmark.py').read_text()
    assert 'from umt_mm.benchmark.cli import main' in stub and 'sys.path' not in stub


def test_flags_and_defaults():
    args = build_parser().parse_args([])
    assert (args.arch, args.frames, args.size, args.repeats) == ('base', 8, 224, 5)
    assert not (args.detection or args.pretrain or args.data or args.export or args.gpu)
    assert args.data_shared.endswith('data/videos')
    with pytest.raises(SystemExit):
        build_parser().parse_args(['--child-pretrain', 'flash'])


def test_format_table():
    table = format_table('UMT-base 8x224', {'speedup': 1.23456, 'threads': 2, 'rounds': [1.5]})
    assert table.splitlines() == ['| UMT-base 8x224 | value |', '|---|---|',
                                  '| speedup | 1.235 |', '| threads | 2 |',
                                  '| rounds | [1.5] |']


def test_helpers_return_the_documented_data(capsys):
    cpu = cpu_description()
    assert set(cpu) == {'cpu_model', 'cpu_cores', 'cpu_capability', 'load_average'}
    assert cpu['cpu_cores'] >= 1 and len(cpu['load_average'].split()) == 3
    calls = []
    times = time_interleaved({'a': lambda: calls.append('a'), 'b': lambda: calls.append('b')},
                             2)
    assert calls == ['a', 'b'] * 3  # one warm-up each, then alternating rounds
    assert set(times) == {'a', 'b'} and all(len(v) == 2 for v in times.values())
    assert capsys.readouterr().err.count('[benchmark] round') == 2
    assert time_it(lambda: None, 2) >= 0
    assert median([3, 1, 2]) == 2 and median([4, 1, 2, 3]) == 2.5


def test_recipe_file_names_the_missing_file(tmp_path):
    assert recipe_file('configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-'
                       'rgb.py').is_file()
    with pytest.raises(FileNotFoundError, match='configs/nothing.py not found'):
        recipe_file('configs/nothing.py', tmp_path)

"""tools/ holds thin entry points: no script imports another, edits sys.path or imports a
private name; the library behind them is umt_mm (umt_mm.apis and the packages it uses)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = sorted(p for p in (ROOT / 'tools').rglob('*.py') if '__pycache__' not in p.parts)
SCRIPT_NAMES = {p.stem for p in TOOLS}
# build helpers run before umt_mm is installed, so they cannot use the package; the reference
# trajectory script runs in the reference's own environment, without umt_mm
STANDALONE = {'tools/misc/cuda_build_env.py', 'tools/misc/make_wheelhouse.py',
              'tools/misc/reference_trajectories.py'}
MAX_LINES = 200


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize('path', TOOLS, ids=_rel)
def test_tool_is_a_thin_entry_point(path):
    tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == 'path' and \
                isinstance(node.value, ast.Name) and node.value.id == 'sys':
            problems.append(f'line {node.lineno}: uses sys.path')
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split('.')[0]
                if top in SCRIPT_NAMES and not alias.name.startswith('umt_mm'):
                    problems.append(f'line {node.lineno}: imports the script {alias.name}')
                if any(part.startswith('_') for part in alias.name.split('.')[1:]):
                    problems.append(f'line {node.lineno}: imports private {alias.name}')
        if isinstance(node, ast.ImportFrom) and node.module != '__future__':
            module = node.module or ''
            if node.level or module.split('.')[0] in SCRIPT_NAMES:
                problems.append(f'line {node.lineno}: imports the script {module}')
            if any(part.startswith('_') for part in module.split('.')):
                problems.append(f'line {node.lineno}: imports from private {module}')
            for alias in node.names:
                if alias.name.startswith('_'):
                    problems.append(f'line {node.lineno}: imports private {alias.name}')
    lines = len(path.read_text(encoding='utf-8').splitlines())
    if _rel(path) not in STANDALONE and lines > MAX_LINES:
        problems.append(f'{lines} lines: move the logic into umt_mm (at most {MAX_LINES})')
    assert not problems, f'{_rel(path)}: ' + '; '.join(problems)

"""model-index.yml and the metafiles: every zoo config listed once, every entry real."""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = 'https://pjlab-gvm-data.oss-cn-shanghai.aliyuncs.com/umt/single_modality/'
# not model-zoo rows: shared bases, the quickstart, the MMAction2 mixing examples and the
# frame-folder variants of zoo recipes
NOT_ZOO = ('_base_', 'quickstart', 'examples', 'rawframes')


def _zoo_configs() -> set:
    found = set()
    for top in ('configs', 'action_detection/configs'):
        for path in (ROOT / top).rglob('*.py'):
            rel = path.relative_to(ROOT)
            if not any(part in NOT_ZOO for part in rel.parts):
                found.add(rel.as_posix())
    return found


def _models() -> list:
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    models = []
    for metafile in index['Import']:
        assert (ROOT / metafile).is_file(), f'model-index.yml imports missing {metafile}'
        meta = yaml.safe_load((ROOT / metafile).read_text())
        names = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in names, (metafile, model['Name'])
            models.append((metafile, model))
    return models


def test_every_metafile_is_imported_by_the_model_index():
    index = set(yaml.safe_load((ROOT / 'model-index.yml').read_text())['Import'])
    on_disk = {p.relative_to(ROOT).as_posix() for top in ('configs', 'action_detection')
               if (ROOT / top).exists() for p in (ROOT / top).rglob('metafile.yml')}
    assert on_disk == index


def test_every_config_is_listed_once_and_every_entry_exists():
    listed = [model['Config'] for _, model in _models()]
    assert len(listed) == len(set(listed)), 'a config is listed twice'
    for config in listed:
        assert (ROOT / config).is_file(), f'metafile entry points at missing {config}'
    assert set(listed) == _zoo_configs(), (
        f'not in a metafile: {sorted(_zoo_configs() - set(listed))}')
    for metafile, model in _models():
        assert model['Name'] == Path(model['Config']).stem, (metafile, model['Name'])
        assert Path(model['Config']).parent == Path(metafile).parent, metafile


def test_weights_are_official_umt_checkpoints():
    for metafile, model in _models():
        weights = model.get('Weights')
        if weights is None:
            continue
        assert weights.startswith(OFFICIAL) and weights.endswith('.pth'), (metafile, weights)
        stem = weights[len(OFFICIAL):-4]
        size = 'b16' if '-base-' in model['Name'] else 'l16'
        assert stem.startswith(size + '_ptk710'), (model['Name'], stem)
        res = re.search(r'res(\d+)', model['Name'])
        if res and 'pretrain' not in metafile:
            assert stem.endswith(f'res{res[1]}'), (model['Name'], stem)


# the README table / the reference's MODEL_ZOO.md (reported top-1, AVA mAP)
REPORTED = {
    'k710': [81.9, 86.0], 'k400': [87.4, 90.3, 90.6], 'k600': [87.8, 90.4, 90.5],
    'k700': [78.5, 83.2, 83.6], 'mitv1': [44.6, 45.5, 48.0, 48.7], 'sthv2': [70.8, 74.7],
    'configs': [33.5, 39.8]}


def test_results_and_test_views_match_the_configs():
    from mmengine.config import Config
    seen = {}
    for metafile, model in _models():
        family = Path(metafile).parent.name
        if family == 'pretrain':
            assert 'Results' not in model
            continue
        (result, ) = model['Results']
        value = next(iter(result['Metrics'].values()))
        seen.setdefault(family, []).append(value)
        if family == 'configs':  # AVA
            continue
        cfg = Config.fromfile(ROOT / model['Config'])
        pipeline = cfg.test_dataloader.dataset.pipeline
        clips = next(s['num_clips'] for s in pipeline if s['type'] == 'UMTSampleFrames')
        crops = next(s['num_crops'] for s in pipeline if s['type'] == 'UMTMultiCrop')
        assert model['Metadata']['Test Views'] == f'{clips}x{crops}', model['Name']
        assert model['Metadata']['Frames'] == cfg.model.backbone.num_frames
        assert model['Metadata']['Resolution'] == f'{cfg.model.backbone.img_size}x' \
                                                  f'{cfg.model.backbone.img_size}'
    for family, values in seen.items():
        assert sorted(values) == sorted(REPORTED[family]), family


def test_mim_search_lists_the_zoo(python, tmp_path):
    import subprocess
    mim = Path(python).parent / 'mim'
    if not mim.exists():
        pytest.skip('openmim is not installed')
    if not (ROOT / 'umt_mm/.mim/model-index.yml').exists():
        pytest.skip('umt_mm/.mim is not set up (run make setup)')
    result = subprocess.run([str(mim), 'search', 'umt_mm'], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)  # outside the checkout
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for _, model in _models():
        assert model['Name'] in result.stdout, model['Name']

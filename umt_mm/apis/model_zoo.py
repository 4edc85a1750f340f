"""The model zoo by name: the rows of the metafiles (``model-index.yml``).

A model name is a config's file name without ``.py``, as ``mim search umt_mm`` lists it,
e.g. ``umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]

#: metafile ``Dataset`` -> bundled label map name (:mod:`umt_mm.data`)
DATASET_LABEL_MAPS = {
    'Kinetics-400': 'k400', 'Kinetics-600': 'k600', 'Kinetics-700': 'k700',
    'Kinetics-710': 'k710', 'Moments in Time V1': 'mitv1', 'SthV2': 'sthv2', 'AVA v2.2': 'ava',
}


@dataclass(frozen=True)
class ModelInfo:
    """One row of the model zoo.

    Attributes:
        name (str): The model name (the config's stem).
        config (Path): The config file.
        weights (str | None): The official checkpoint's link (official UMT layout).
        task (str): ``'recognition'``, ``'detection'`` (AVA) or ``'pretraining'``.
        convert_kind (str): ``--kind`` of ``tools/convert_umt_checkpoint.py`` for ``weights``.
        dataset (str | None): The metafile's dataset.
        label_map (str | None): The bundled label map of the dataset (``'k400'``...).
        metrics (dict): The reported results.
    """

    name: str
    config: Path
    weights: str | None
    task: str
    convert_kind: str
    dataset: str | None = None
    label_map: str | None = None
    metrics: tuple = ()


def _roots() -> list[Path]:
    """Folders that hold ``model-index.yml``: the checkout, then the package's ``.mim``."""
    roots = [PACKAGE.parent, PACKAGE / '.mim']
    return [r for r in roots if (r / 'model-index.yml').is_file()]


@lru_cache(maxsize=1)
def _index() -> dict[str, ModelInfo]:
    import yaml
    roots = _roots()
    if not roots:
        raise FileNotFoundError(
            f'model-index.yml not found next to {PACKAGE} nor in {PACKAGE / ".mim"}: '
            'install umt_mm from its repository (pip install -e .) or as a wheel')
    root = roots[0]
    models: dict[str, ModelInfo] = {}
    index = yaml.safe_load((root / 'model-index.yml').read_text(encoding='utf-8'))
    for meta_path in index.get('Import', []):
        meta = yaml.safe_load((root / meta_path).read_text(encoding='utf-8'))
        for row in meta.get('Models', []):
            results = row.get('Results') or []
            task_name = results[0].get('Task', '') if results else ''
            dataset = results[0].get('Dataset') if results else None
            if 'Detection' in task_name:
                task, kind = 'detection', 'ava'
            elif results:
                task, kind = 'recognition', 'finetune'
            else:
                task, kind = 'pretraining', 'pretrain'
            models[row['Name']] = ModelInfo(
                name=row['Name'], config=root / row['Config'], weights=row.get('Weights'),
                task=task, convert_kind=kind, dataset=dataset,
                label_map=DATASET_LABEL_MAPS.get(dataset),
                metrics=tuple((k, v) for r in results for k, v in r.get('Metrics', {}).items()))
    return models


def list_models(task: str | None = None) -> list[str]:
    """Names of the model zoo's rows.

    Args:
        task (str, optional): Only ``'recognition'``, ``'detection'`` or ``'pretraining'``.
            Defaults to None (all).

    Returns:
        list[str]: Sorted model names.
    """
    return sorted(name for name, info in _index().items() if task in (None, info.task))


def get_model_info(name: str) -> ModelInfo:
    """The model zoo row called ``name`` (a config stem; ``.py`` is ignored).

    Args:
        name (str): Model name.

    Returns:
        ModelInfo: Its config, weights link and task.

    Raises:
        KeyError: Unknown name; the message lists the closest names.
    """
    key = Path(name).name
    key = key[:-3] if key.endswith('.py') else key
    models = _index()
    if key not in models:
        import difflib
        close = difflib.get_close_matches(key, list(models), n=3, cutoff=0.3)
        raise KeyError(f'{name!r} is not a umt_mm model name'
                       + (f'; did you mean {", ".join(close)}?' if close else '')
                       + ' (umt_mm.apis.list_models() lists them)')
    return models[key]


def resolve_config(config: str | Path) -> Path:
    """A config file given as a path or as a model name.

    Args:
        config (str | Path): A config file, or a model name of :func:`list_models`.

    Returns:
        Path: The config file.

    Raises:
        FileNotFoundError: Neither a file nor a model name.
    """
    path = Path(config)
    if path.is_file():
        return path
    try:
        return get_model_info(str(config)).config
    except KeyError as err:
        raise FileNotFoundError(f'config {config}: no such file, and {err.args[0]}') from None


__all__ = ['ModelInfo', 'get_model_info', 'list_models', 'resolve_config']

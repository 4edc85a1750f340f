"""Every video under a folder as an unlabelled dataset (pretraining without a list file)."""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Callable, Sequence

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS

from .preparation.video_preparation import VIDEO_EXTENSIONS
from .video_list_validation import AnnotationError, read_video_list


@DATASETS.register_module()
class VideoFolderDataset(BaseActionDataset):
    """All videos found (recursively) under ``data_prefix['video']``, without labels.

    For UMT pretraining on one's own footage: point it at a folder, no list file needed.
    Files are taken in sorted path order (deterministic across processes); hidden files
    and folders are skipped. With an ``ann_file``, that list (``path [label]`` per line,
    MMAction2's video list format, checked line by line like every umt_mm video list) is
    used instead and labels are ignored, so the K710 list of the finetuning recipes works
    as well. The official lists as distributed (the reference's ``train.csv``, ``path,label``
    read with ``--split ','``; or ``path label``) are recognised whichever ``delimiter`` is
    set (see :func:`~umt_mm.datasets.video_list_validation.read_video_list`); listed paths
    are joined to ``data_prefix['video']`` (the reference's ``--prefix``).

    Each sample is ``dict(filename=...)`` without a label.

    Args:
        data_prefix (dict): ``dict(video=FOLDER)``.
        pipeline (Sequence[dict | Callable]): Processing pipeline.
        ann_file (str): Optional video list. Defaults to '' (scan the folder).
        extensions (Sequence[str]): File suffixes taken as videos (case-insensitive).
            Defaults to common video containers (``VIDEO_EXTENSIONS``).
        start_index (int): Index of the first frame. Defaults to 0.
        delimiter (str): Field separator of the list (the reference's ``--split``).
            Defaults to ' '.
        **kwargs: Passed to :class:`mmaction.datasets.BaseActionDataset`.

    Examples:
        >>> ds = DATASETS.build(dict(type='VideoFolderDataset',  # doctest: +SKIP
        ...                          data_prefix=dict(video='my_videos'), pipeline=[]))
    """

    def __init__(self,
                 data_prefix: dict,
                 pipeline: Sequence[dict | Callable],
                 ann_file: str = '',
                 extensions: Sequence[str] = VIDEO_EXTENSIONS,
                 start_index: int = 0,
                 delimiter: str = ' ',
                 **kwargs) -> None:
        self.extensions = tuple(e.lower() for e in extensions)
        self.delimiter = delimiter
        super().__init__(ann_file, pipeline=pipeline, data_prefix=data_prefix,
                         start_index=start_index, modality='RGB', **kwargs)

    def load_data_list(self) -> list[dict]:
        """Scan the folder (or read the list) into ``dict(filename=...)`` entries."""
        root = self.data_prefix.get('video', '')
        if self.ann_file:
            return self._from_list(root)
        if not root or not osp.isdir(root):
            raise FileNotFoundError(
                f'VideoFolderDataset: video folder {root!r} does not exist; set '
                "data_prefix=dict(video='path/to/videos') (or give an ann_file)")
        files = []
        for folder, dirs, names in os.walk(root, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
            files += [osp.join(folder, n) for n in names
                      if not n.startswith('.') and n.lower().endswith(self.extensions)]
        if not files:
            raise FileNotFoundError(
                f'VideoFolderDataset: no video ({", ".join(self.extensions)}) under {root}')
        return [dict(filename=path) for path in sorted(files)]

    def _from_list(self, root: str) -> list[dict]:
        """The list's videos (checked line by line as every video list), labels dropped."""
        entries = read_video_list(self.ann_file, delimiter=self.delimiter,
                                  video_prefix=root or None, test_mode=True)
        if not entries:
            raise AnnotationError(f'{self.ann_file}: the list names no video')
        return [dict(filename=entry['filename']) for entry in entries]

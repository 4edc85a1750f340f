"""Strict video lists: ``VideoDataset`` rejects bad list lines when it is built.

MMAction2 1.2.0's ``VideoDataset.load_data_list`` checks nothing: a line without a label is
read as label ``-1`` and a label beyond the head's classes is accepted, so training dies
iterations later inside ``F.one_hot`` (``Class values must be non-negative.``) without
naming the file or line, and duplicated videos are silently trained twice.
:func:`apply_strict_video_lists` makes it read the list with
:func:`umt_mm.datasets.video_list_validation.read_video_list` (errors name ``file:line``),
applied by ``import umt_mm``; switch: ``UMT_MM_DISABLE_FIXES=strict_video_lists``.
"""
from __future__ import annotations

from pathlib import Path


def apply_strict_video_lists() -> bool:
    """Reject bad ``VideoDataset`` list lines when the dataset is built, naming file and line.

    The same parser with checks: labels against the dataset's ``num_classes``
    (``tools/train.py`` / ``test.py`` fill it from the model head), and
    ``metainfo.classes`` (names or a label-map path, whose file is named in the error)
    against ``num_classes``.

    Returns:
        bool: Whether the patch was installed.
    """
    from mmaction.datasets import VideoDataset
    if getattr(VideoDataset.load_data_list, '_umt_mm_strict', False):
        return True

    original_metainfo = VideoDataset._load_metainfo.__func__

    def _load_metainfo(cls, metainfo: dict | None = None) -> dict:
        # MMEngine reads a label-map path in metainfo.classes into names; keep the path so
        # that a wrong label map is reported with its file
        loaded = original_metainfo(cls, metainfo)
        if isinstance(metainfo, dict) and isinstance(metainfo.get('classes'), (str, Path)):
            loaded['classes_file'] = str(metainfo['classes'])
        return loaded

    def load_data_list(self) -> list:
        from umt_mm.datasets.video_list_validation import check_class_names, read_video_list
        meta = self._metainfo if isinstance(self._metainfo, dict) else {}
        classes = meta.get('classes_file', meta.get('classes'))
        if classes is not None and self.num_classes is not None:
            check_class_names(classes, self.num_classes)
        return read_video_list(self.ann_file, delimiter=self.delimiter,
                               multi_class=self.multi_class, num_classes=self.num_classes,
                               video_prefix=self.data_prefix.get('video'),
                               test_mode=self.test_mode)

    load_data_list.__doc__ = VideoDataset.load_data_list.__doc__
    load_data_list._umt_mm_strict = True
    VideoDataset.load_data_list = load_data_list
    VideoDataset._load_metainfo = classmethod(_load_metainfo)
    return True


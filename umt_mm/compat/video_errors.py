"""``video_errors_name_the_file``: decoding errors of MMAction2's decord transforms name the video.

Symptom: a truncated or corrupt video stops training with ``RuntimeError: Error reading
5000 bytes...`` (or a bare ``DECORDError``) that does not say which of the dataset's videos
is broken.
Cause: decord's errors carry no path, and MMAction2 1.2.0's ``DecordInit`` /
``DecordDecode`` (``mmaction/datasets/transforms/loading.py``) let them through unchanged.
Fix: re-raise such errors as ``RuntimeError('<file>: ...')`` chained to the original; a
missing file still raises ``FileNotFoundError`` with its path. ``SkipBadVideos``
(:mod:`umt_mm.datasets.skip_bad_videos`) reads the file from these messages.
Remove when: MMAction2's decord transforms name the file themselves
(``tests/compat/test_video_errors.py`` then fails to say so).
"""
from __future__ import annotations

import functools


def fix_video_errors_name_the_file() -> bool:
    """Make decoding errors of MMAction2's decord transforms name the video file.

    Wraps ``DecordInit.transform`` and ``DecordDecode.transform``.

    Returns:
        bool: Whether the patches were installed.
    """
    from mmaction.datasets.transforms import loading

    def wrap(cls, action: str) -> None:
        original = cls.transform
        if getattr(original, '_umt_mm_names_file', False):
            return

        @functools.wraps(original)
        def transform(self, results):
            try:
                return original(self, results)
            except FileNotFoundError:
                raise
            except Exception as err:
                name = results.get('filename', '<unknown file>')
                detail = str(err).strip().splitlines()
                raise RuntimeError(
                    f'{name}: cannot {action} ({type(err).__name__}: '
                    f'{detail[0] if detail else "no message"}); the video is corrupt, '
                    'truncated or not a video file. Re-encode or remove it from the list.'
                ) from err

        transform._umt_mm_names_file = True
        cls.transform = transform

    wrap(loading.DecordInit, 'open the video with decord')
    wrap(loading.DecordDecode, 'decode the sampled frames with decord')
    return True


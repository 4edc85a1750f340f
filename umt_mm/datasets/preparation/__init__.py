"""Offline data work, run by the ``tools/data/`` scripts before training (never by a run).

* :mod:`~umt_mm.datasets.preparation.video_preparation`: re-encode one video for sparse
  sampling, extract one video's frames, :data:`VIDEO_EXTENSIONS`.
* :mod:`~umt_mm.datasets.preparation.video_jobs`: those jobs over a folder or a video list
  (parallel, resumable, with a summary).
* :mod:`~umt_mm.datasets.preparation.k710_lists`: the Kinetics-710 lists from the K400 / K600 /
  K700 lists.
* :mod:`~umt_mm.datasets.preparation.check`: missing and unreadable videos of a dataset's lists.
* :mod:`~umt_mm.datasets.preparation.ava_frames` and
  :mod:`~umt_mm.datasets.preparation.ava_frame_jobs`: AVA movies to the reference's 25-fps
  frames.

Import the module you need; this package imports none of them, so that the run-time
datasets can take :data:`~umt_mm.datasets.preparation.video_preparation.VIDEO_EXTENSIONS`
without loading the rest.
"""

"""Clips/s per core of the recipes' data pipelines, stage by stage.

Reference-style decord decoding and ours side by side (alternating per clip), on real and
generated Kinetics-like videos and on prepared data (re-encoded videos, JPEG frame folders).
See docs/benchmarks.md.
"""
from __future__ import annotations

import copy
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .cpu import cpu_description
from .detection import DETECTION_CONFIG
from .resources import recipe_file

#: recipe -> (config, dataloader key or pipeline variable of the config)
DATA_RECIPES = {
    'pretrain': ('configs/pretrain/'
                 'umt-base-p16-res224_clip-b16-distill_32xb64-u8-201e_kinetics710-rgb.py',
                 'train_dataloader'),
    'k400_train': ('configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py',
                   'train_dataloader'),
    'k400_test': ('configs/k400/umt-base-p16-res224_k710-ft_16xb16-u8-5e_kinetics400-rgb.py',
                  'test_dataloader'),
    'ssv2_train': ('configs/sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py',
                   'train_dataloader'),
    'ssv2_test': ('configs/sthv2/umt-base-p16-res224_k710-pre_16xb16-u8-30e_sthv2-rgb.py',
                  'test_dataloader'),
    'ava_train': (DETECTION_CONFIG, 'train_pipeline_videos'),
}
DATA_STAGES = ('open', 'index', 'decode', 'augment', 'format')
_OPEN = ('DecordInit', 'PyAVSparseInit', 'PyAVInit', 'OpenCVInit')
_INDEX = ('UMTSampleFrames', 'UMTSampleAVAFrames', 'SampleFrames', 'SampleAVAFrames')
_DECODE = ('DecordDecode', 'DecordSparseDecode', 'PyAVSparseDecode', 'PyAVDecode',
           'RawFrameDecode', 'OpenCVDecode')
_FORMAT = ('FormatShape', 'PackActionInputs')
#: variant -> (description, how the decoding transforms of a recipe pipeline are replaced)
DATA_VARIANTS = {
    'reference': 'decord get_batch of the sampled indices (DecordInit + DecordDecode)',
    'decord_sparse': 'decord, sorted unique indices (DecordInit + DecordSparseDecode)',
    'pyav_sparse': 'PyAV, one forward pass, unsampled non-reference frames skipped '
                   '(PyAVSparseInit + PyAVSparseDecode)',
    'frames': 'JPEG frame folders (RawFrameDecode, cv2)',
}
#: which variants run on which set (the reference always runs on the original videos)
SET_VARIANTS = {'shared': ('reference', 'decord_sparse', 'pyav_sparse'),
                'generated': ('reference', 'decord_sparse', 'pyav_sparse'),
                'reencoded': ('pyav_sparse', ),
                'frames': ('frames', )}


def data_stage(type_name: str) -> str:
    """The benchmark stage of a pipeline transform.

    Args:
        type_name (str): The transform's registered type.

    Returns:
        str: ``open``, ``index``, ``decode``, ``augment`` or ``format``.
    """
    if type_name in _OPEN:
        return 'open'
    if type_name in _INDEX:
        return 'index'
    if type_name in _DECODE:
        return 'decode'
    if type_name in _FORMAT:
        return 'format'
    return 'augment'


def recipe_pipeline(recipe: str, root: str | Path | None = None) -> tuple[list, int]:
    """The pipeline of ``recipe`` as its config defines it, and its repeated augmentations.

    Args:
        recipe (str): A key of ``DATA_RECIPES``.
        root (str | Path, optional): Repository root holding the configs. Defaults to None
            (see :func:`~umt_mm.benchmark.resources.recipe_file`).

    Returns:
        tuple: ``(pipeline dicts, num_repeats)`` (``num_repeats`` > 1 for the
        ``RepeatAugDataset`` recipes: one decode, that many augmentations).
    """
    from mmengine.config import Config
    if recipe not in DATA_RECIPES:
        raise ValueError(f'recipe must be one of {list(DATA_RECIPES)}, got {recipe!r}')
    config, key = DATA_RECIPES[recipe]
    cfg = Config.fromfile(str(recipe_file(config, root)))
    if key.endswith('_dataloader'):
        dataset = cfg[key]['dataset']
        repeats = int(dataset.get('num_repeats', 1)) if 'RepeatAug' in dataset['type'] else 1
        return [dict(t) for t in dataset['pipeline']], repeats
    return [dict(t) for t in cfg[key]], 1


def variant_pipeline(pipeline: list, variant: str) -> list:
    """Swap the decoding transforms of a (decord) recipe pipeline for ``variant``'s.

    The ``reference`` variant also computes as the reference does after decoding:
    ``UMTRandAugmentCrop`` (RandAugment and the crop fused, the same draws and pixels)
    becomes its two steps, RandAugment on whole frames then the crop.

    Args:
        pipeline (list): Transform dicts of a recipe.
        variant (str): A key of ``DATA_VARIANTS``.

    Returns:
        list: The new transform dicts.
    """
    if variant not in DATA_VARIANTS:
        raise ValueError(f'variant must be one of {sorted(DATA_VARIANTS)}, got {variant!r}')
    out = []
    for t in pipeline:
        t = dict(t)
        if t['type'] == 'UMTRandAugmentCrop' and variant == 'reference':
            from umt_mm.datasets.transforms.rand_augment_crop import UMTRandAugmentCrop
            out.extend(UMTRandAugmentCrop(t.get('rand_augment'), t.get('crop')).unfused())
            continue
        if t['type'] == 'DecordInit':
            if variant == 'pyav_sparse':
                t = dict(type='PyAVSparseInit')
            elif variant == 'frames':
                continue
        elif t['type'] == 'DecordDecode':
            t = dict(type={'reference': 'DecordDecode', 'decord_sparse': 'DecordSparseDecode',
                           'pyav_sparse': 'PyAVSparseDecode',
                           'frames': 'RawFrameDecode'}[variant])
        out.append(t)
    return out


class StagedPipeline:
    """A recipe pipeline run stage by stage, with CPU and wall time per stage.

    ``[open], index, decode`` run once per clip, the rest ``repeats`` times on copies (what
    ``RepeatAugDataset(sample_once=True)`` does).

    Args:
        pipeline (list): Transform dicts (with a decode stage).
        repeats (int): Augmentations per decoded clip. Defaults to 1.
    """

    def __init__(self, pipeline: list, repeats: int = 1) -> None:
        from mmaction.registry import TRANSFORMS
        self.stages = [data_stage(t['type']) for t in pipeline]
        self.transforms = [TRANSFORMS.build(t) for t in pipeline]
        self.repeats = repeats
        decode = self.stages.index('decode')
        self.split = decode + 1
        self.reset()

    def reset(self) -> None:
        """Forget the times measured so far (after a warm-up clip)."""
        self.cpu = dict.fromkeys(DATA_STAGES, 0.0)
        self.wall = dict.fromkeys(DATA_STAGES, 0.0)
        self.clips = 0

    def _timed(self, stage: str, transform, results: dict) -> dict:
        cpu, wall = time.process_time(), time.perf_counter()
        results = transform(results)
        self.cpu[stage] += time.process_time() - cpu
        self.wall[stage] += time.perf_counter() - wall
        return results

    def __call__(self, results: dict) -> tuple:
        """Run one clip. Returns ``(decoded frames as one array, [packed samples])``."""
        for stage, transform in zip(self.stages[:self.split], self.transforms[:self.split]):
            if stage == 'decode' and self.repeats > 1:
                # RepeatAugDataset(sample_once=True) decodes the indices repeated
                results['frame_inds'] = np.tile(results['frame_inds'], self.repeats)
            results = self._timed(stage, transform, results)
        imgs = results.pop('imgs')
        clip = len(imgs) // self.repeats
        if self.repeats > 1:
            results['frame_inds'] = results['frame_inds'][:clip]
        outputs = []
        for repeat in range(self.repeats):
            sample = copy.deepcopy(results) if self.repeats > 1 else results
            sample['imgs'] = imgs[repeat * clip:(repeat + 1) * clip]
            for stage, transform in zip(self.stages[self.split:], self.transforms[self.split:]):
                sample = self._timed(stage, transform, sample)
            outputs.append(sample)
        self.clips += 1
        return np.stack(imgs[:clip]), outputs

    def report(self) -> dict:
        """Per-clip CPU milliseconds per stage, clips/s per core and per wall second.

        Returns:
            dict: ``{stage}_cpu_ms`` for every stage, ``clips_per_cpu_s`` and
            ``clips_per_wall_s``.
        """
        cpu_total = sum(self.cpu.values())
        out = {f'{stage}_cpu_ms': 1e3 * self.cpu[stage] / max(self.clips, 1)
               for stage in DATA_STAGES}
        out['clips_per_cpu_s'] = self.clips / cpu_total if cpu_total else float('nan')
        out['clips_per_wall_s'] = self.clips / max(sum(self.wall.values()), 1e-12)
        return out


def data_sample(path: str, recipe: str, variant: str, total_frames: int) -> dict:
    """What the recipe's dataset hands its pipeline for ``path``.

    Args:
        path (str): A video, or a frame folder for the ``frames`` variant.
        recipe (str): A key of ``DATA_RECIPES`` (``ava_*``: with a key frame and boxes).
        variant (str): A key of ``DATA_VARIANTS``.
        total_frames (int): Frames of the video.

    Returns:
        dict: The pipeline's input.
    """
    results = dict(label=0, modality='RGB', start_index=0)
    if variant == 'frames':
        results.update(frame_dir=path, total_frames=total_frames, start_index=1,
                       filename_tmpl='img_{:05d}.jpg')
    else:
        results['filename'] = path
    if recipe.startswith('ava'):
        # a key frame in the middle of the clip; one box and one proposal (normalised)
        results.update(fps=30, timestamp_start=0, timestamp=total_frames / 60,
                       shot_info=(0, total_frames),
                       gt_bboxes=np.array([[.1, .2, .6, .9]], np.float32),
                       gt_labels=np.zeros((1, 81), np.float32),
                       proposals=np.array([[.1, .2, .6, .9]], np.float32),
                       entity_ids=np.zeros(1, np.int64))
    return results


def prepare_data_sets(work: str | Path, num_generated: int, num_frames: int,
                      shared: str | Path | None, gop: int = 250,
                      prepared_gop: int = 16) -> dict:
    """The video sets of the benchmark.

    ``shared`` (the real videos), ``generated`` (Kinetics-like: 340x256, 30 fps, H.264 with
    B-frames and a typical GOP, every other one with a variable frame rate, a short last
    GOP), ``reencoded`` (those re-encoded by ``umt_mm.datasets.preparation``'s ``reencode_video``,
    GOP ``prepared_gop``) and ``frames`` (their JPEG frame folders).

    Args:
        work (str | Path): Folder for the generated files.
        num_generated (int): Kinetics-like videos to generate.
        num_frames (int): Frames per generated video.
        shared (str | Path, optional): Folder of real ``.mp4`` / ``.avi`` videos; None or a
            missing folder: no ``shared`` set.
        gop (int): Keyframe interval of the generated videos. Defaults to 250.
        prepared_gop (int): Keyframe interval of the re-encoded videos. Defaults to 16.

    Returns:
        dict: Set name -> list of ``(path, frames)``.
    """
    from umt_mm.datasets.preparation.video_preparation import extract_frames, reencode_video
    from umt_mm.testing.kinetics_like_videos import write_kinetics_like_video
    work = Path(work)
    sets: dict = {}
    if shared and Path(shared).is_dir():
        from umt_mm.datasets.transforms.decoding import open_sparse_video
        sets['shared'] = []
        for path in sorted(Path(shared).iterdir()):
            if path.suffix in ('.mp4', '.avi'):
                video = open_sparse_video(str(path))
                sets['shared'].append((str(path), len(video)))
                video.close()
    generated, reencoded, frames = [], [], []
    for i in range(num_generated):
        path = work / f'kinetics_like_{i}.mp4'
        write_kinetics_like_video(path, num_frames=num_frames, gop=gop, bframes=3,
                                  variable_frame_rate=bool(i % 2), seed=i)
        generated.append((str(path), num_frames))
        reencode_video(path, work / f'reencoded_{i}.mp4', gop=prepared_gop)
        reencoded.append((str(work / f'reencoded_{i}.mp4'), num_frames))
        info = extract_frames(path, work / f'frames_{i}')
        frames.append((str(work / f'frames_{i}'), info['frames']))
    sets.update(generated=generated, reencoded=reencoded, frames=frames)
    return sets


def data_benchmark(recipes: list | None = None, shared: str | Path | None = None,
                   num_generated: int = 4, num_frames: int = 300, prepared_gop: int = 16,
                   repeats: int = 3) -> dict:
    """Clips/s per core of the recipes' pipelines, per stage, reference-style decoding and
    ours side by side (alternating per clip, the same random draws), on the shared and
    generated videos and on prepared data.

    Args:
        recipes (list, optional): Keys of ``DATA_RECIPES``. Defaults to None (all).
        shared (str | Path, optional): Folder of real videos. Defaults to None (none).
        num_generated (int): Kinetics-like videos to generate. Defaults to 4.
        num_frames (int): Frames per generated video. Defaults to 300.
        prepared_gop (int): Keyframe interval of the re-encoded videos. Defaults to 16.
        repeats (int): Rounds over the videos. Defaults to 3.

    Returns:
        dict: :func:`~umt_mm.benchmark.cpu.cpu_description`'s keys, ``torch_threads``,
        ``augment_kernel`` (whether ``UMTRandAugmentCrop``'s C kernel is used), one entry
        ``'{recipe}/{set}/{variant}'`` per measured row (:meth:`StagedPipeline.report`'s
        keys, ``max_pixel_diff``, ``mean_pixel_diff`` against decord's frames of the same or
        the source video, ``speedup_per_core`` against the reference decoding) and
        ``load_average_end``.
    """
    from mmengine.registry import init_default_scope

    import umt_mm  # noqa: F401
    from umt_mm.datasets.transforms.rand_augment_crop import kernel_available
    init_default_scope('mmaction')
    # as in the recipes' data workers: env_cfg.mp_cfg.opencv_num_threads=0 (MMEngine sets it
    # before the loader forks); cv2's own threads would add their overhead to the CPU time
    import cv2
    cv2.setNumThreads(0)
    recipes = list(recipes) if recipes else list(DATA_RECIPES)
    for recipe in recipes:
        if recipe not in DATA_RECIPES:
            raise ValueError(f'recipe must be one of {list(DATA_RECIPES)}, got {recipe!r}')
    results: dict = dict(cpu_description(), torch_threads=torch.get_num_threads(),
                         augment_kernel=kernel_available())
    with tempfile.TemporaryDirectory(prefix='umt_data_bench_') as work:
        sets = prepare_data_sets(work, num_generated, num_frames, shared,
                                 prepared_gop=prepared_gop)
        for recipe in recipes:
            pipeline, num_repeats = recipe_pipeline(recipe)
            measured, originals = {}, {}
            for set_name, videos in sets.items():
                runners = {v: StagedPipeline(variant_pipeline(pipeline, v), num_repeats)
                           for v in SET_VARIANTS[set_name]}
                for variant, runner in runners.items():  # warm-up (lazy set-up), not timed
                    runner(data_sample(videos[0][0], recipe, variant, videos[0][1]))
                    runner.reset()
                diffs = {v: [] for v in runners}
                for round_index in range(repeats):
                    for video_index, (path, frames) in enumerate(videos):
                        seed = 1000 * round_index + video_index
                        for variant, runner in runners.items():  # alternating, same draws
                            random.seed(seed)
                            np.random.seed(seed)
                            torch.manual_seed(seed)
                            decoded, _ = runner(data_sample(path, recipe, variant, frames))
                            # against decord's frames of the same (or the source) video
                            key = (round_index, video_index)
                            if variant == 'reference':
                                reference = decoded
                                if set_name == 'generated':
                                    originals[key] = decoded
                            elif set_name in ('reencoded', 'frames'):
                                reference = originals.get(key)
                            if reference is not None and decoded.shape == reference.shape:
                                diffs[variant].append(np.abs(decoded.astype(np.int16) -
                                                             reference))
                for variant, runner in runners.items():
                    found = diffs[variant]
                    measured[(set_name, variant)] = dict(
                        runner.report(),
                        max_pixel_diff=float(max(d.max() for d in found)) if found else
                        float('nan'),
                        mean_pixel_diff=float(np.mean([d.mean() for d in found])) if found else
                        float('nan'))
            base = measured.get(('generated', 'reference'))
            for (set_name, variant), values in measured.items():
                ref = measured.get((set_name, 'reference'), base)
                if set_name in ('reencoded', 'frames'):
                    ref = base  # prepared data against the originals' reference decoding
                values['speedup_per_core'] = (values['clips_per_cpu_s'] /
                                              ref['clips_per_cpu_s']) if ref else float('nan')
                results[f'{recipe}/{set_name}/{variant}'] = values
    results['load_average_end'] = cpu_description()['load_average']
    return results


def data_rows(results: dict, root: str | Path | None = None) -> list[tuple]:
    """The measured rows of :func:`data_benchmark`'s results, in their order.

    Args:
        results (dict): What :func:`data_benchmark` returned.
        root (str | Path, optional): Repository root holding the configs. Defaults to None.

    Returns:
        list: ``(recipe, set name, variant, repeated augmentations, values)`` tuples.
    """
    rows, repeats = [], {}
    for key, values in results.items():
        if key.count('/') != 2 or not isinstance(values, dict):
            continue
        recipe, set_name, variant = key.split('/')
        if recipe not in repeats:
            repeats[recipe] = recipe_pipeline(recipe, root)[1]
        rows.append((recipe, set_name, variant, repeats[recipe], values))
    return rows

"""A trained model keeps its predictions in every precision: the quickstart motion model.

``tests/fixtures/quickstart_motion8.pth`` is the quickstart recipe trained on the generated
motion set (how it was made: tests/fixtures/README.md). On held-out clips generated here
(another seed than its training set) and the recipe's test protocol (2 clips x 3 crops),
bf16, int8 and auto, eager and through the onnxruntime / OpenVINO backends, must predict
the fp32 class on at least 98 % of the clips, with a top-1 within one clip of fp32 (bf16)
or two clips (int8).
"""
import copy

import numpy as np
import pytest
import torch
from api_helpers import MOTION, ROOT

FIXTURE = ROOT / 'tests/fixtures/quickstart_motion8.pth'
#: held-out clips per class (8 classes)
CLIPS_PER_CLASS = 16
#: how far each precision's top-1 may move from fp32's, in clips
TOP1_TOLERANCE = {'bf16': 1, 'int8': 2, 'auto': 1}


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One intra-op thread: the tiny model's ops are too short to share two busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def fp32_model(one_thread):
    from umt_mm.apis import init_recognizer
    assert FIXTURE.is_file(), f'{FIXTURE} is missing: see tests/fixtures/README.md'
    return init_recognizer(MOTION, FIXTURE, device='cpu')


@pytest.fixture(scope='module')
def held_out(tmp_path_factory, fp32_model):
    """The held-out clips through the test pipeline, packed once: (packed, labels)."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from umt_mm.apis import inference_pipeline
    from umt_mm.testing.motion_videos import make_motion_video_dataset
    root = tmp_path_factory.mktemp('motion8')
    # seed 1: clips the model never saw (it was trained and validated on seed 0)
    paths = make_motion_video_dataset(root, 1, 1, CLIPS_PER_CLASS, seed=1, progress=False)
    init_default_scope('mmaction')
    pipeline = Compose(inference_pipeline(fp32_model.cfg))
    packed, labels = [], []
    for line in paths['test_list'].read_text().split():
        if line.endswith('.mp4'):
            packed.append(pipeline(dict(filename=str(paths['videos'] / line), label=-1,
                                        start_index=0, modality='RGB')))
        else:
            labels.append(int(line))
    return packed, np.array(labels)


def predict(model, packed, batch: int = 16) -> np.ndarray:
    from mmengine.dataset import pseudo_collate
    classes = []
    with torch.no_grad():
        for start in range(0, len(packed), batch):
            samples = model.test_step(pseudo_collate(packed[start:start + batch]))
            classes += [int(s.pred_score.argmax()) for s in samples]
    return np.array(classes)


@pytest.fixture(scope='module')
def fp32_predictions(fp32_model, held_out):
    return predict(fp32_model, held_out[0])


def test_the_fixture_is_a_trained_model(fp32_predictions, held_out):
    labels = held_out[1]
    assert len(labels) == 8 * CLIPS_PER_CLASS
    # random weights: 12.5 %; the quickstart recipe reaches 70-94 % (docs/quickstart.md)
    assert (fp32_predictions == labels).mean() >= 0.7


@pytest.mark.parametrize('precision,backend', [
    ('bf16', 'eager'), ('int8', 'eager'), ('auto', 'eager'), ('int8', 'onnxruntime'),
    ('bf16', 'openvino'), ('int8', 'openvino')])
def test_every_precision_predicts_as_fp32(precision, backend, fp32_model, fp32_predictions,
                                          held_out):
    from umt_mm.apis import prepare_inference
    if backend != 'eager':
        pytest.importorskip(backend, reason=f'{backend} is not installed')
    packed, labels = held_out
    model = copy.deepcopy(fp32_model)
    # openvino int8: calibrated on the first batch of held-out clips of each shape
    choice = prepare_inference(model, precision, backend)
    assert choice.backend == backend
    assert choice.precision in ('fp32', 'bf16', 'int8')
    predictions = predict(model, packed)
    agreement = (predictions == fp32_predictions).mean()
    assert agreement >= 0.98, f'{choice.describe()}: {agreement:.1%} agree with fp32'
    top1_clips = int((predictions == labels).sum())
    fp32_clips = int((fp32_predictions == labels).sum())
    assert abs(top1_clips - fp32_clips) <= TOP1_TOLERANCE[precision], (
        f'{choice.describe()}: {top1_clips} correct clips against {fp32_clips} in fp32')

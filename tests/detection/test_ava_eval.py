"""AVA frame mAP: equal to MMAction2's ava_eval, with per-class output files."""
import json

import pytest
import torch


@pytest.fixture
def sample(shared_data):
    return shared_data / 'ava_eval_sample'


def test_frame_map_equals_mmaction_ava_eval(sample):
    from mmaction.evaluation.functional import ava_eval

    from umt_mm.evaluation import ava_frame_map
    args = (str(sample / 'pred.csv'), str(sample / 'action_list.txt'), str(sample / 'gt.csv'))
    theirs = ava_eval(args[0], 'mAP', args[1], args[2], None)
    for protocol in ('mmaction', 'official'):
        ours = ava_frame_map(*args, None, protocol=protocol)
        for key in ('overall', 'person_movement', 'object_manipulation', 'person_interaction'):
            assert ours[key] == pytest.approx(theirs[key], nan_ok=True), (protocol, key)
        # the fixed number of this sample (MMAction2's own evaluation of the same files)
        assert ours['overall'] == pytest.approx(0.09385522, abs=1e-7)
    assert [row['id'] for row in ours['per_class']] == [1, 2, 3]
    assert sum(row['num_gt'] for row in ours['per_class']) == 12
    aps = [row['ap'] for row in ours['per_class'] if row['ap'] is not None]
    assert sum(aps) / len(aps) == pytest.approx(ours['overall'])
    # parallel matching gives the same
    par = ava_frame_map(*args, None, num_workers=2)
    assert par['overall'] == ours['overall']


def test_metric_writes_json_table_and_detections(sample, tmp_path):
    from umt_mm.evaluation import UMTAVAMetric
    metric = UMTAVAMetric(ann_file=str(sample / 'gt.csv'), exclude_file=None,
                          label_file=str(sample / 'action_list.txt'), num_classes=4,
                          out_dir=str(tmp_path))
    rows = [line.split(',') for line in (sample / 'pred.csv').read_text().split()]
    by_key = {}
    for vid, ts, x1, y1, x2, y2, label, score in rows:
        by_key.setdefault((vid, int(ts)), []).append(
            ([float(x1), float(y1), float(x2), float(y2)], int(label), float(score)))
    samples = []
    for (vid, ts), dets in by_key.items():
        scores = torch.zeros(len(dets), 4)  # background + 3 classes, one box per row
        for i, (_, label, score) in enumerate(dets):
            scores[i, label] = score
        bboxes = torch.tensor([d[0] for d in dets])
        samples.append(dict(video_id=vid, timestamp=ts,
                            pred_instances=dict(bboxes=bboxes, scores=scores)))
    metric.process([], samples)
    res = metric.compute_metrics(metric.results)
    assert set(res) == {'overall', 'person_movement', 'object_manipulation', 'person_interaction'}
    assert res['overall'] == pytest.approx(0.09385522, abs=1e-7)
    saved = json.loads((tmp_path / 'ava_map.json').read_text())
    assert saved['overall'] == pytest.approx(res['overall'])
    assert len(saved['per_class']) == 3
    table = (tmp_path / 'ava_map.txt').read_text()
    assert 'action1' in table and 'overall' in table
    assert len((tmp_path / 'ava_detections.csv').read_text().splitlines()) == len(rows)


def test_official_protocol_against_mmaction(sample, tmp_path):
    """Exclusions, detections on unannotated timestamps and undetected classes."""
    from mmaction.evaluation.functional import ava_eval

    from umt_mm.evaluation import ava_frame_map
    excl = tmp_path / 'excl.csv'
    excl.write_text('HmR8SmNIoxu,1384\n')
    args = (str(sample / 'pred.csv'), str(sample / 'action_list.txt'), str(sample / 'gt.csv'),
            str(excl))
    theirs = ava_eval(args[0], 'mAP', args[1], args[2], args[3])
    mmaction = ava_frame_map(*args, protocol='mmaction')
    assert mmaction['overall'] == pytest.approx(theirs['overall'])
    official = ava_frame_map(*args)
    # the 4 excluded boxes are no longer missed positives: recall and AP can only rise
    assert sum(r['num_gt'] for r in official['per_class']) == 8
    assert sum(r['num_gt'] for r in mmaction['per_class']) == 12
    assert official['overall'] > mmaction['overall']

    # a confident detection of class 1 on a timestamp without ground truth
    pred = tmp_path / 'pred.csv'
    extra = '3reY9zJKhqN,1775,0.1,0.1,0.5,0.5,1,0.999\n'
    pred.write_text((sample / 'pred.csv').read_text() + extra)
    args = (str(pred), str(sample / 'action_list.txt'), str(sample / 'gt.csv'), None)
    base = ava_frame_map(str(sample / 'pred.csv'), *args[1:])
    official = ava_frame_map(*args)
    mmaction = ava_frame_map(*args, protocol='mmaction')
    assert mmaction['overall'] == pytest.approx(base['overall'])  # MMAction2 ignores it
    ap1 = {r['id']: r['ap'] for r in official['per_class']}[1]
    assert ap1 < {r['id']: r['ap'] for r in base['per_class']}[1]  # a false positive
    assert mmaction['overall'] == pytest.approx(
        ava_eval(args[0], 'mAP', args[1], args[2], None)['overall'])

    # class 2 never detected: AP 0 in the official mean, left out by MMAction2
    rows = [r for r in (sample / 'pred.csv').read_text().splitlines() if r.split(',')[6] != '2']
    pred.write_text('\n'.join(rows) + '\n')
    official = ava_frame_map(*args)
    mmaction = ava_frame_map(*args, protocol='mmaction')
    by_id = {r['id']: r['ap'] for r in official['per_class']}
    assert by_id[2] == 0.0
    assert official['overall'] == pytest.approx((by_id[1] + by_id[3]) / 3)
    assert mmaction['overall'] == pytest.approx((by_id[1] + by_id[3]) / 2)

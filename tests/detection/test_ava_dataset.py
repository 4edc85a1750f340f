"""UMTAVADataset on the shared AVA sample: records, the proposal policy and bad rows."""
import pickle
import shutil

import numpy as np
import pytest


def build(ava, tmp_path, **kwargs):
    from umt_mm.datasets.ava import UMTAVADataset
    args = dict(ann_file=str(ava / 'ava_sample.csv'), pipeline=[],
                exclude_file=str(ava / 'ava_excluded_timestamps_sample.csv'),
                label_file=str(ava / 'action_list.txt'),
                data_prefix=dict(img=str(tmp_path)), use_frames=False, start_index=0)
    args.update(kwargs)
    return UMTAVADataset(**args)


@pytest.fixture
def ava(shared_data):
    return shared_data / 'ava_sample'


def write(path, text):
    path.write_text(text)
    return str(path)


def test_training_records_use_gt_boxes_as_proposals(ava, tmp_path):
    ds = build(ava, tmp_path)
    # 3 timestamps, 2 excluded
    assert len(ds) == 1
    assert ds.report['rows'] == 8 and ds.report['timestamps'] == 3
    assert ds.report['timestamps_excluded'] == 2
    # action 74 is not in the sample label map: trained on, reported, not evaluated
    assert ds.report['rows_with_unlisted_actions'] == 1
    assert ds.report['unlisted_action_ids'] == [74]
    info = ds.get_data_info(0)
    assert info['img_key'] == '0f39OWEqJ24,0902'
    assert info['filename'] == str(tmp_path / '0f39OWEqJ24')
    np.testing.assert_allclose(info['gt_bboxes'], [[0.031, 0.162, 0.670, 0.995]], rtol=1e-6)
    assert np.flatnonzero(info['gt_labels'][0]).tolist() == [12, 17, 79]
    np.testing.assert_array_equal(info['proposals'], info['gt_bboxes'])
    np.testing.assert_array_equal(info['proposal_scores'], [1.0])


def test_test_mode_thresholds_proposals_and_drops_timestamps_without_any(ava, tmp_path):
    props = tmp_path / 'props.pkl'
    with open(ava / 'ava_proposals_sample.pkl', 'rb') as f:
        data = pickle.load(f)
    # one timestamp only below the threshold, one slightly outside [0, 1]
    data['0f39OWEqJ24,0903'] = np.array([[0.1, 0.1, 0.5, 0.5, 0.5]])
    data['0f39OWEqJ24,0902'] = np.array([[-0.01, 0.157, 0.655, 1.02, 0.998],
                                         [0.2, 0.2, 0.4, 0.4, 0.79]])
    with open(props, 'wb') as f:
        pickle.dump(data, f)
    ds = build(ava, tmp_path, exclude_file=None, proposal_file=str(props),
               person_det_score_thr=0.8, test_mode=True)
    # _-Z6wFjXtGQ,0902 keeps its 0.994 box; 0f39OWEqJ24,0903 has none >= 0.8: dropped
    assert [ds.get_data_info(i)['img_key'] for i in range(len(ds))] == [
        '0f39OWEqJ24,0902', '_-Z6wFjXtGQ,0902']
    assert ds.report['timestamps_without_proposals'] == 1
    assert ds.report['proposals_clipped'] == 1
    info = ds.get_data_info(0)
    np.testing.assert_allclose(info['proposals'], [[0.0, 0.157, 0.655, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(info['proposal_scores'], [0.998], rtol=1e-6)
    # MMAction2's fallback (best box below the threshold) on request
    ds = build(ava, tmp_path, exclude_file=None, proposal_file=str(props),
               person_det_score_thr=0.8, test_mode=True, keep_best_proposal=True)
    assert len(ds) == 3 and ds.report.get('timestamps_without_proposals', 0) == 0


def test_unannotated_timestamps_of_annotated_videos_on_request(ava, tmp_path):
    props = tmp_path / 'props.pkl'
    with open(ava / 'ava_proposals_sample.pkl', 'rb') as f:
        data = pickle.load(f)
    data['0f39OWEqJ24,0950'] = np.array([[0.1, 0.1, 0.5, 0.5, 0.95]])  # annotated video
    data['unknownvid1,0950'] = np.array([[0.1, 0.1, 0.5, 0.5, 0.95]])  # not in the csv
    data['0f39OWEqJ24,1850'] = np.array([[0.1, 0.1, 0.5, 0.5, 0.95]])  # outside 900..1800
    with open(props, 'wb') as f:
        pickle.dump(data, f)
    kwargs = dict(proposal_file=str(props), person_det_score_thr=0.8, test_mode=True)
    plain = build(ava, tmp_path, **kwargs)
    assert [plain.get_data_info(i)['img_key'] for i in range(len(plain))] == ['0f39OWEqJ24,0902']
    ds = build(ava, tmp_path, include_unannotated=True, **kwargs)
    keys = [ds.get_data_info(i)['img_key'] for i in range(len(ds))]
    assert keys == ['0f39OWEqJ24,0902', '0f39OWEqJ24,0950']
    assert ds.report['unannotated_timestamps_added'] == 1
    info = ds.get_data_info(1)
    assert info['gt_bboxes'].shape == (0, 4) and info['gt_labels'].shape == (0, 81)
    np.testing.assert_allclose(info['proposal_scores'], [0.95])


def test_report_is_logged(ava, tmp_path, capsys):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('ava_report_test', log_level='INFO')
    build(ava, tmp_path)
    out = capsys.readouterr()
    text = out.out + out.err
    assert '2 excluded' in text and 'action ids [74]' in text


@pytest.mark.parametrize('row,match', [
    ('0f39OWEqJ24,0902,0.1,0.1,0.5', r'ava\.csv:2: expected video_id'),
    ('0f39OWEqJ24,0902,0.1,0.1,0.5,0.5,abc,0', r'ava\.csv:2: non-numeric'),
    ('0f39OWEqJ24,0902,0.1,0.1,0.5,0.5,81,0', r'ava\.csv:2: unknown action id 81'),
    ('0f39OWEqJ24,0902,0.1,0.1,0.5,0.5,0,0', r'ava\.csv:2: unknown action id 0'),
    ('0f39OWEqJ24,0902,10,20,300,400,12,0', r'ava\.csv:2: box .* not normalised'),
    ('0f39OWEqJ24,0902,0.5,0.1,0.4,0.5,12,0', r'ava\.csv:2: empty box'),
    ('0f39OWEqJ24,0300,0.1,0.1,0.5,0.5,12,0', r'ava\.csv:2: timestamp 300 outside'),
])
def test_malformed_rows_name_file_and_line(ava, tmp_path, row, match):
    ann = write(tmp_path / 'ava.csv', '0f39OWEqJ24,0902,0.1,0.1,0.5,0.5,12,0\n' + row + '\n')
    with pytest.raises(ValueError, match=match):
        build(ava, tmp_path, ann_file=ann)


def test_boxes_slightly_outside_are_clipped_and_counted(ava, tmp_path):
    ann = write(tmp_path / 'ava.csv', '0f39OWEqJ24,0902,-0.01,0.1,0.5,1.02,12,0\n'
                                      '0f39OWEqJ24,0902,-0.01,0.1,0.5,1.02,17,0\n')
    ds = build(ava, tmp_path, ann_file=ann, exclude_file=None)
    assert ds.report['boxes_clipped'] == 2
    np.testing.assert_allclose(ds.get_data_info(0)['gt_bboxes'], [[0.0, 0.1, 0.5, 1.0]])


def test_bad_exclusion_and_proposal_files(ava, tmp_path):
    excl = write(tmp_path / 'excl.csv', '0f39OWEqJ24,0903\n0f39OWEqJ24\n')
    with pytest.raises(ValueError, match=r'excl\.csv:2: expected video_id,timestamp'):
        build(ava, tmp_path, exclude_file=excl)
    props = tmp_path / 'props.pkl'
    with open(props, 'wb') as f:
        pickle.dump({'0f39OWEqJ24,0902': np.zeros((2, 3))}, f)
    with pytest.raises(ValueError, match=r"props\.pkl\['0f39OWEqJ24,0902'\]: expected an \(n, 4\)"):
        build(ava, tmp_path, proposal_file=str(props), test_mode=True)


def test_frames_pipeline_reads_the_right_frames(ava, tmp_path):
    """Frame folders are 1-based (img_00001.jpg = frame 0 of the 15-minute cut)."""
    import cv2
    from mmaction.datasets.transforms import RawFrameDecode

    from umt_mm.datasets.ava import UMTSampleAVAFrames
    folder = tmp_path / '0f39OWEqJ24'
    folder.mkdir()
    for i in range(1, 100):
        img = np.full((16, 16, 3), i, dtype=np.uint8)
        cv2.imwrite(str(folder / f'img_{i:05d}.jpg'), img)
    shutil.copy(ava / 'ava_sample.csv', tmp_path / 'a.csv')
    ds = build(ava, tmp_path, use_frames=True, start_index=1,
               pipeline=[UMTSampleAVAFrames(8, 8), RawFrameDecode()])
    out = ds[0]
    # key frame of 0902 is frame 60 (0-based) -> img_00061; first frame 60 - 29 = 31 -> img_00032
    assert out['frame_inds'].tolist() == list(range(32, 32 + 64, 8))
    assert [int(round(f.mean())) for f in out['imgs']][:2] == [32, 40]


def test_merging_rows_by_box_equals_mmaction(ava, tmp_path):
    from mmaction.datasets import AVADataset
    ds = build(ava, tmp_path, exclude_file=None)
    rows = []
    for i, (box, label) in enumerate([((0.1, 0.2, 0.5, 0.9), 12), ((0.3, 0.2, 0.6, 0.9), 17),
                                      ((0.1, 0.2, 0.5, 0.9), 79), ((0.3, 0.2, 0.6, 0.9), 12),
                                      ((0.0, 0.0, 1.0, 1.0), 80)]):
        rows.append(dict(entity_box=box, label=label, entity_id=i))
    ours = ds.parse_img_record(rows)
    theirs = AVADataset.parse_img_record(
        ds, [dict(r, entity_box=np.array(r['entity_box'])) for r in rows])
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)

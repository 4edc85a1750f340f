"""The main job on the bundled default: a tiny train + val + multi-view test run.

Generates a toy two-class video set (no downloads), trains the quickstart config with
``tools/train.py`` for two epochs on the CPU, evaluates the last checkpoint with
``tools/test.py`` and prints the accuracies.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / 'configs/quickstart/umt-tiny-p16-res32_scratch_1xb2-u4-2e_toy-rgb.py'


def _last_metrics(work_dir: Path, prefix: str = 'acc/') -> dict:
    logs = sorted(work_dir.glob('*/vis_data/scalars.json')) + sorted(work_dir.glob('*/*.json'))
    metrics: dict = {}
    for log in logs:
        for line in log.read_text().splitlines():
            record = json.loads(line)
            found = {k: v for k, v in record.items() if k.startswith(prefix)}
            if found:
                metrics = found
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--config', default=str(DEFAULT_CONFIG))
    parser.add_argument('--work-dir', default=str(ROOT / 'work_dirs/quickstart'))
    args = parser.parse_args()

    from umt_mm.datasets import make_toy_video_dataset
    work_dir = Path(args.work_dir)
    data = make_toy_video_dataset(work_dir / 'data')
    print(f'[quickstart] toy videos in {data["videos"]}')
    data_opts = [
        f'train_dataloader.dataset.ann_file={data["train_list"]}',
        f'train_dataloader.dataset.data_prefix.video={data["videos"]}',
        f'val_dataloader.dataset.ann_file={data["val_list"]}',
        f'val_dataloader.dataset.data_prefix.video={data["videos"]}',
        f'test_dataloader.dataset.ann_file={data["val_list"]}',
        f'test_dataloader.dataset.data_prefix.video={data["videos"]}',
    ]
    train_dir = work_dir / 'train'
    subprocess.run([sys.executable, str(ROOT / 'tools/train.py'), args.config,
                    '--work-dir', str(train_dir), '--cfg-options', *data_opts], check=True)
    checkpoint = train_dir / 'epoch_2.pth'
    if not checkpoint.exists():
        raise FileNotFoundError(f'training did not write {checkpoint}')
    test_dir = work_dir / 'test'
    subprocess.run([sys.executable, str(ROOT / 'tools/test.py'), args.config, str(checkpoint),
                    '--work-dir', str(test_dir), '--cfg-options', *data_opts], check=True)
    print('[quickstart] validation after training:', _last_metrics(train_dir))
    print('[quickstart] multi-view test of', checkpoint.name, ':', _last_metrics(test_dir))


if __name__ == '__main__':
    main()

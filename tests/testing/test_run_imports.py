"""What ``import umt_mm`` loads: no generated-data helpers and no offline preparation code."""
import subprocess
import sys


def test_a_run_imports_neither_testing_nor_preparation(repo_root):
    code = ('import sys, umt_mm; print(sorted(m for m in sys.modules if m.startswith('
            '("umt_mm.testing", "umt_mm.datasets.preparation."))))')
    result = subprocess.run([sys.executable, '-c', code], cwd=repo_root, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    # VideoFolderDataset takes the list of video suffixes from video_preparation (stdlib and
    # numpy only); nothing else of the preparation code, nothing of umt_mm.testing
    assert result.stdout.split('\n')[-2] == "['umt_mm.datasets.preparation.video_preparation']"
    from umt_mm.datasets.preparation.video_preparation import VIDEO_EXTENSIONS
    from umt_mm.datasets.video_folder_dataset import VideoFolderDataset
    assert VideoFolderDataset.__init__.__defaults__[1] == VIDEO_EXTENSIONS

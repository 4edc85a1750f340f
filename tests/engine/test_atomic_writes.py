"""``umt_mm.engine.atomic_writes``: files are replaced whole, never left half-written."""
import os

import pytest

from umt_mm.engine.atomic_writes import write_atomically


def test_write_atomically_creates_the_folder_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / 'new' / 'report.json'
    write_atomically(b'{"a": 1}', target)
    assert target.read_bytes() == b'{"a": 1}'
    write_atomically(b'{}', str(target))
    assert target.read_bytes() == b'{}'
    assert os.listdir(target.parent) == ['report.json']


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / 'latest.pth'
    target.write_bytes(b'old')

    def no_space(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', no_space)
    with pytest.raises(OSError, match='No space left'):
        write_atomically(b'new and longer', target)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['latest.pth']


def test_mmengine_local_backend_writes_through_it(tmp_path):
    from mmengine.fileio.backends.local_backend import LocalBackend

    import umt_mm  # noqa: F401  (applies atomic_local_writes)
    backend = LocalBackend()
    backend.put(b'bytes', tmp_path / 'a' / 'b.bin')
    backend.put_text('text', tmp_path / 'c.txt')
    assert (tmp_path / 'a' / 'b.bin').read_bytes() == b'bytes'
    assert (tmp_path / 'c.txt').read_text() == 'text'
    assert getattr(LocalBackend.put, '_umt_mm_atomic', False)

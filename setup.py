"""Build hook: ship configs, tools and the model index inside the package (``umt_mm/.mim``).

Metadata and dependencies live in setup.cfg. This file adds the optional C kernel of the
training augmentation (``umt_mm._affine_bicubic``: Pillow's bicubic affine transform on a
rectangle, see ``umt_mm/datasets/transforms/rand_augment_crop.py``; without a C compiler the
install goes on and the same pixels come from Pillow) and what OpenMMLab's ``mim``
expects in an installed package (as MMAction2's ``setup.py`` does): ``umt_mm/.mim/`` holds
``configs``, ``tools``, ``action_detection`` and ``model-index.yml`` -- symlinks to the
checkout for editable installs (``pip install -e .``), copies for wheels and sdists. With it,
``mim train umt_mm CONFIG``, ``mim test umt_mm CONFIG --checkpoint CKPT`` and
``mim search umt_mm`` work from any folder.
"""
import os
import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup

MIM_ITEMS = ('configs', 'tools', 'action_detection', 'model-index.yml')
EXTENSIONS = [
    # -ffp-contract=off: no fused multiply-add, so the doubles are Pillow's (x86-64 wheels)
    Extension('umt_mm._affine_bicubic', ['umt_mm/_ext/affine_bicubic.c'],
              extra_compile_args=['-O3', '-ffp-contract=off'], optional=True),
]


def add_mim_extension() -> None:
    """Fill ``umt_mm/.mim`` with links (editable install) or copies (wheel, sdist)."""
    if {'develop', 'editable_wheel'} & set(sys.argv):
        mode = 'symlink' if os.name != 'nt' else 'copy'
    elif {'sdist', 'bdist_wheel', 'build', 'build_py'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    repo = Path(__file__).resolve().parent
    mim = repo / 'umt_mm' / '.mim'
    mim.mkdir(exist_ok=True)
    for name in MIM_ITEMS:
        src, dst = repo / name, mim / name
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        if not src.exists():
            continue
        if mode == 'symlink':
            dst.symlink_to(os.path.relpath(src, dst.parent))
        elif src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(ext_modules=EXTENSIONS)

"""Packaging hook; the metadata is in setup.cfg, the build settings in
pyproject.toml.

mim looks for a package's configs, tools and model index under
``<top-level module>/.mim`` (here ``projects/.mim``), and
:func:`projects.saip_dpal.utils.model_zoo.register_model_zoo` reads the
model index there when the package is installed without the repository.
A wheel (``pip install .``) gets copies; an editable install
(``pip install -e .``) gets links into the checkout, which git ignores.
"""
import os
import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


class BuildPyWithMimFiles(build_py):
    """``build_py`` that also places :data:`MIM_FILES` in
    ``projects/.mim``."""

    def run(self):
        super().run()
        editable = getattr(self, 'editable_mode', False)
        target = osp.join(ROOT if editable else self.build_lib, 'projects',
                          '.mim')
        os.makedirs(target, exist_ok=True)
        for name in MIM_FILES:
            src, dst = osp.join(ROOT, name), osp.join(target, name)
            if osp.lexists(dst):
                if osp.isdir(dst) and not osp.islink(dst):
                    shutil.rmtree(dst)
                else:
                    os.remove(dst)
            if editable:
                os.symlink(osp.relpath(src, target), dst)
            elif osp.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                    '__pycache__', '*.pyc'))
            else:
                shutil.copy2(src, dst)


setup(cmdclass={'build_py': BuildPyWithMimFiles})

"""LUPerson as distributed: an LMDB of JPEG bytes, and key lists.

LUPerson comes as an LMDB whose keys name the crops (``CC_cc_vvvv_mmmmmmmm``)
and whose values are the JPEG bytes; LUP1M is a random 1M subset of those
keys. Key lists are plain text (one key a line, ``#`` comment lines), read
as text: an LMDB entry or a key file from the internet is never unpickled.
A key file written by :func:`write_key_file` carries the sha256 of its key
lines in its header, checked when it is read.
"""
import contextlib
import hashlib
import os
import os.path as osp
import re
from typing import Iterable, List, Optional, Tuple

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS
from ..utils.errors import InputDataError
from ..utils.image_folder import IMG_EXTENSIONS, find_images
from .samplers.seeded_index import SeededItems

#: LMDB entries that are not images (some distributions store a pickled key
#: list under ``__keys__``; it is skipped, never read)
RESERVED_PREFIX = '__'
_KEY = re.compile(r'[\x21-\x7e]+')  # printable ASCII, no spaces
_HASH = re.compile(r'^# sha256 of the key lines: ([0-9a-f]{64})$')


def keys_sha256(keys: Iterable[str]) -> str:
    """sha256 of the keys as lines (``key\\n`` each, in order)."""
    digest = hashlib.sha256()
    for key in keys:
        digest.update(key.encode('ascii') + b'\n')
    return digest.hexdigest()


def write_key_file(path: str, keys: List[str], note: str = '') -> str:
    """Write ``keys`` one a line after a header with ``note`` and their
    sha256; returns the hash."""
    digest = keys_sha256(keys)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='ascii') as f:
        for line in note.splitlines():
            f.write(f'# {line}\n')
        f.write(f'# sha256 of the key lines: {digest}\n')
        f.writelines(f'{k}\n' for k in keys)
    return digest


def read_key_file(path: str) -> List[str]:
    """Keys of a text key file; the recorded sha256, if any, must match.

    Raises:
        InputDataError: unreadable file, a line that is not one printable
            ASCII key, or a hash mismatch (one line each, with the line).
    """
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as err:
        raise InputDataError(f'key file {path}: {err.strerror or err}') \
            from None
    keys, recorded = [], None
    for number, line in enumerate(raw.split(b'\n'), 1):
        try:
            text = line.decode('ascii').strip()
        except UnicodeDecodeError:
            raise InputDataError(f'key file {path} line {number}: not ASCII '
                                 'text (is it a pickle?)') from None
        if not text:
            continue
        if text.startswith('#'):
            found = _HASH.match(text)
            recorded = found.group(1) if found else recorded
            continue
        if not _KEY.fullmatch(text):
            raise InputDataError(f'key file {path} line {number}: '
                                 f'{text[:40]!r} is not one key')
        keys.append(text)
    if not keys:
        raise InputDataError(f'key file {path} holds no keys')
    if recorded is not None and keys_sha256(keys) != recorded:
        raise InputDataError(
            f'key file {path}: its keys do not match the sha256 in its '
            f'header ({recorded[:12]}...): edited or truncated')
    return keys


@contextlib.contextmanager
def _reading(db_path: str):
    """A read-only transaction on ``db_path``, through mmengine's ``lmdb``
    file backend (the one the image loading uses: lmdb opens a database
    once per process). The handle is closed afterwards, so that data
    workers forked later open their own."""
    import lmdb
    from mmengine.fileio import get_file_backend
    if not osp.isdir(db_path):
        raise InputDataError(f'LMDB not found: {db_path}')
    backend = get_file_backend(
        backend_args=dict(backend='lmdb', db_path=db_path),
        enable_singleton=True)
    try:
        if backend._client is None:
            backend._client = backend._get_client()
        with backend._client.begin(write=False) as txn:
            yield txn
    except lmdb.Error as err:
        raise InputDataError(f'LMDB {db_path} cannot be read: {err}') \
            from None
    finally:
        if backend._client is not None:
            backend._client.close()
            backend._client = None


def lmdb_keys(db_path: str) -> List[str]:
    """The image keys of an LMDB, in its (sorted) order, reserved entries
    left out."""
    with _reading(db_path) as txn:
        keys = [k.decode('ascii') for k in txn.cursor().iternext(
            keys=True, values=False)]
    return [k for k in keys if not k.startswith(RESERVED_PREFIX)]


def missing_keys(db_path: str, keys: List[str]) -> List[str]:
    """The keys of ``keys`` that ``db_path`` does not hold."""
    with _reading(db_path) as txn:
        cursor = txn.cursor()
        return [k for k in keys if not cursor.set_key(k.encode('ascii'))]


def pack_folder(folder: str, db_path: str,
                suffixes: Tuple[str, ...] = IMG_EXTENSIONS) -> int:
    """Write every image file under ``folder`` into a new LMDB at
    ``db_path``, keyed by its relative path without suffix, ``/`` -> ``_``
    (``city0/video0000/000001.jpg`` -> ``city0_video0000_000001``), the
    file's bytes as value. Returns the entry count."""
    import lmdb
    files = [osp.relpath(f, folder) for f in find_images(folder, suffixes)]
    size = sum(osp.getsize(osp.join(folder, f)) for f in files)
    env = lmdb.open(db_path, map_size=max(2 * size, 1 << 20) + (64 << 20),
                    lock=False)  # one writer; no lock file (same bytes)
    try:
        with env.begin(write=True) as txn:
            for rel in files:
                key = osp.splitext(rel)[0].replace(os.sep, '_')
                with open(osp.join(folder, rel), 'rb') as f:
                    txn.put(key.encode('ascii'), f.read())
    finally:
        env.close()
    return len(files)


@DATASETS.register_module()
class LUPersonLMDBDataset(SeededItems, BaseDataset):
    """LUPerson (or LUP1M) read from its LMDB: no extraction to files.

    Samples are ``{'img_path': key}``; the pipeline's image loading (its
    first ``LoadImageFromFile`` kind of transform) is pointed at the LMDB
    (mmengine's ``lmdb`` file backend, opened read-only in each worker).
    Keys come from ``key_file`` (e.g. a LUP1M list from
    ``tools/dataset_converters/sample_lup1m.py``) or, without one, from the
    LMDB itself; a key the LMDB lacks stops the run when it is read
    (``missing image file: KEY``), or at start-up with ``check_keys``.
    An index with a seed (from :class:`ResumableSampler`) augments its
    sample from that seed.

    Start-up on a 100k-entry LMDB (1 GB) here: the key scan takes 0.12 s
    with the file in the page cache, 10.5 s from a cold cache (the key pages
    lie between the images); a 50k-key file 0.37 s cold, 6.2 s with
    ``check_keys``.

    Args:
        data_root (str): dataset root.
        db_path (str): the LMDB folder, relative to ``data_root``.
        key_file (str, optional): text key list, relative to ``data_root``.
        check_keys (bool): look every key of ``key_file`` up at start-up.
            Defaults to False.
        **kwargs: as :class:`mmpretrain.datasets.BaseDataset` (no
            ``ann_file``).
    """

    def __init__(self,
                 data_root: str = '',
                 db_path: str = 'LUPerson-lmdb',
                 key_file: Optional[str] = None,
                 check_keys: bool = False,
                 **kwargs):
        self.db_path = osp.join(data_root, db_path)
        self.key_file = None if key_file is None else osp.join(
            data_root, key_file)
        self.check_keys = check_keys
        super().__init__(ann_file='', data_root=data_root, **kwargs)
        from mmcv.transforms import LoadImageFromFile
        loader = next((t for t in self.pipeline.transforms
                       if isinstance(t, LoadImageFromFile)), None)
        if loader is None:
            raise ValueError('LUPersonLMDBDataset needs an image loading '
                             'transform (LoadCheckedImageFromFile)')
        loader.backend_args = dict(backend='lmdb', db_path=self.db_path)

    def load_data_list(self) -> List[dict]:
        if self.key_file is None:
            keys = lmdb_keys(self.db_path)
            if not keys:
                raise InputDataError(f'LMDB {self.db_path} holds no images')
        else:
            keys = read_key_file(self.key_file)
            absent = missing_keys(self.db_path, keys) if self.check_keys \
                else []
            if absent:
                raise InputDataError(
                    f'key file {self.key_file}: {len(absent)} keys are not '
                    f'in {self.db_path} (e.g. {absent[0]})')
        return [dict(img_path=k) for k in keys]

"""Resolve every shipped config and compare two such snapshots.

    python tools/analysis_tools/resolved_configs.py dump OUT.json \
        [--root CHECKOUT]
    python tools/analysis_tools/resolved_configs.py compare BEFORE.json \
        AFTER.json [--rename OLD=NEW ...] [--move OLD.KEY=NEW.KEY ...]

``dump`` reads every config under ``CHECKOUT/configs`` (``_base_`` pieces
excluded; default: this checkout) with mmengine, as the tools do, and writes
``{config path: resolved settings}`` as JSON, the checkout's own path
replaced by ``<root>`` so that two checkouts compare. ``compare`` prints
each setting that differs, config by config, and exits with 1 if any
changed or went away (settings only added are listed, and counted apart);
``--rename`` maps an old config path or an old type name to its new one
first, ``--move`` an old setting (a dotted key path) to its new place (a
restructuring that renames on purpose shows nothing else). Either may
start with ``GLOB:`` to apply to the configs whose path matches GLOB only
(e.g. ``'configs/saip*:model.neck=model.reconstruction_head.decoder'``).
Configs are read as text by mmengine, never imported as plugins.
"""
import argparse
import fnmatch
import glob
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def shipped_configs(root: str) -> list:
    """Config paths relative to ``root`` (``configs/**.py``, no _base_)."""
    configs = sorted(glob.glob(osp.join(root, 'configs', '**', '*.py'),
                               recursive=True))
    return [osp.relpath(c, root) for c in configs
            if '_base_' not in osp.relpath(c, root).split(osp.sep)]


def _plain(value, root: str):
    """JSON-able ``value``: tuples as lists, paths under ``root`` as
    ``<root>/...``, anything else by its repr."""
    if isinstance(value, dict):
        return {str(k): _plain(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, root) for v in value]
    if isinstance(value, str) and value.startswith(root):
        # 'configs/dpal/../../data/' and 'configs/../data/' are one path
        tail = '/' if value.endswith('/') else ''
        return '<root>' + osp.normpath(value)[len(root):] + tail
    if isinstance(value, str):
        return value.replace(root, '<root>')
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return repr(value)


def dump(root: str) -> dict:
    from mmengine.config import Config
    root = osp.abspath(root)
    return {
        rel: _plain(Config.fromfile(osp.join(root, rel)).to_dict(), root)
        for rel in shipped_configs(root)
    }


def _renamed(value, renames: dict):
    """``value`` with each OLD replaced by NEW in its strings and keys."""
    if isinstance(value, dict):
        return {_renamed(k, renames): _renamed(v, renames)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renames) for v in value]
    if isinstance(value, str):
        for old, new in renames.items():
            value = value.replace(old, new)
    return value


def _moved(settings: dict, moves: dict) -> dict:
    """``settings`` with the value at each dotted OLD path moved to NEW
    (where the config has it)."""
    for old, new in moves.items():
        *parents, leaf = old.split('.')
        node = settings
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            continue
        value = node.pop(leaf)
        *parents, leaf = new.split('.')
        node = settings
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return settings


def differences(before, after, where=''):
    """``(key path, before, after)`` for every leaf that differs."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after)):
            out += differences(before.get(key, '<missing>'),
                               after.get(key, '<missing>'),
                               f'{where}.{key}' if where else key)
        return out
    if isinstance(before, list) and isinstance(after, list) and \
            len(before) == len(after):
        out = []
        for i, (b, a) in enumerate(zip(before, after)):
            out += differences(b, a, f'{where}[{i}]')
        return out
    return [] if before == after else [(where, before, after)]


def _scoped(pairs: list, config: str) -> dict:
    """``{OLD: NEW}`` of the ``[GLOB:]OLD=NEW`` pairs that apply to
    ``config``."""
    out = {}
    for pair in pairs:
        scope, _, pair = pair.rpartition(':')
        if not scope or fnmatch.fnmatch(config, scope):
            old, new = pair.split('=', 1)
            out[old] = new
    return out


def compare(before: dict, after: dict, renames: list = (),
            moves: list = ()) -> int:
    """Print the differences; returns how many settings changed or went
    away (added ones are printed and counted apart). ``renames`` and
    ``moves`` are ``[GLOB:]OLD=NEW`` strings."""
    renamed = {}
    for config, settings in before.items():
        new_name = _renamed(config, _scoped(renames, config))
        renamed[new_name] = _moved(
            _renamed(settings, _scoped(renames, config)),
            _scoped(moves, config))
    before = renamed
    count = added = 0
    for config in sorted(set(before) | set(after)):
        if config not in after:
            print(f'{config}: gone')
            count += 1
            continue
        if config not in before:
            print(f'{config}: new')
            count += 1
            continue
        for key, b, a in differences(before[config], after[config]):
            if b == '<missing>':
                print(f'{config}: {key}: added {a!r}')
                added += 1
                continue
            print(f'{config}: {key}: {b!r} -> {a!r}')
            count += 1
    print(f'{count} settings differ in {len(after)} configs, '
          f'{added} added')
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    d = sub.add_parser('dump', help='write the resolved configs as JSON')
    d.add_argument('out')
    d.add_argument('--root', default=ROOT, help='checkout (default: this)')
    c = sub.add_parser('compare', help='compare two dumps')
    c.add_argument('before')
    c.add_argument('after')
    c.add_argument('--rename', nargs='+', default=[], metavar='OLD=NEW')
    c.add_argument('--move', nargs='+', default=[], metavar='OLD=NEW')
    args = parser.parse_args(argv)
    if args.command == 'dump':
        resolved = dump(args.root)
        with open(args.out, 'w') as f:
            json.dump(resolved, f, indent=1, sort_keys=True)
        print(f'{len(resolved)} configs resolved -> {args.out}')
        return 0
    with open(args.before) as f, open(args.after) as g:
        return int(compare(json.load(f), json.load(g), args.rename,
                           args.move) > 0)


if __name__ == '__main__':
    sys.exit(main())

"""Read config text stored in a checkpoint without running it.

mmengine stores the training config as Python text in ``meta['cfg']`` (and
older files in ``meta['config']``); ``Config.fromstring`` would execute it,
and its ``_base_`` would execute other files. A checkpoint from elsewhere is
untrusted, so the text is parsed here into plain values instead: a module of
``name = value`` assignments whose values are constants, lists, tuples,
sets, dict literals, ``dict(key=value, ...)`` calls and signed numbers, the
only forms ``Config.pretty_text`` writes. Anything else is refused with one
line naming the file, the line and the construct.
"""
import ast
from typing import Any, Dict

from .errors import InputDataError

__all__ = ['parse_config_text']


class _Refused(Exception):

    def __init__(self, node: ast.AST, why: str):
        super().__init__(why)
        self.node = node


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(
            node.op, (ast.UAdd, ast.USub)) and isinstance(
                node.operand, ast.Constant) and isinstance(
                    node.operand.value, (int, float, complex)):
        v = node.operand.value
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_value(e) for e in node.elts]
        kind = {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
        return kind(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _Refused(node, '** unpacking')
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(
            node.func, ast.Name) and node.func.id == 'dict':
        if node.args or any(k.arg is None for k in node.keywords):
            raise _Refused(node, 'dict() with positional or ** arguments')
        return {k.arg: _value(k.value) for k in node.keywords}
    what = 'a call' if isinstance(node, ast.Call) else \
        f'a {type(node).__name__} expression'
    raise _Refused(node, what)


def parse_config_text(text: str, where: str = 'config text') -> Dict:
    """The top-level settings of stored config text, as plain values.

    Args:
        text (str): Python source as ``Config.pretty_text`` writes it.
        where (str): What to name in errors, e.g. ``"ckpt.pth meta['cfg']"``.

    Returns:
        dict: ``{name: value}`` of every assignment (nested dicts, lists,
        tuples, numbers, strings, booleans, None).

    Raises:
        InputDataError: the text is not valid Python, holds a statement
            other than a plain assignment, any other expression (a call
            other than ``dict(...)``, a name, an attribute, an operator,
            a lambda, ...), or a ``_base_`` (which would load other files).
    """
    if not isinstance(text, str):
        raise InputDataError(f'{where} is a {type(text).__name__}, not text')
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        raise InputDataError(f'{where} is not valid config text (line '
                             f'{err.lineno}: {err.msg})') from None
    values = {}
    try:
        for stmt in tree.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)):
                raise _Refused(stmt, f'a {type(stmt).__name__} statement')
            name = stmt.targets[0].id
            if name == '_base_':
                raise _Refused(stmt, '_base_ (it would load other files)')
            values[name] = _value(stmt.value)
    except _Refused as refused:
        node = refused.node
        snippet = ast.get_source_segment(text, node) or ''
        snippet = ' '.join(snippet.split())[:60]
        raise InputDataError(
            f'{where} line {getattr(node, "lineno", "?")}: {refused} '
            f'({snippet!r}) is not a plain value; stored config text is '
            'read without running it') from None
    return values

"""Errors that point at a bad input (a file, a checkpoint, a config value)."""


class InputDataError(ValueError):
    """A dataset file, checkpoint or config value is unusable.

    The message is one line naming the culprit; ``tools/train.py`` prints it
    without a traceback.
    """


def one_line(err: BaseException) -> str:
    """The culprit line of an error, also when a DataLoader worker wrapped it
    (the worker's traceback text ends with ``...InputDataError: <message>``).
    """
    last = str(err).strip().splitlines()[-1] if str(err).strip() else ''
    name = type(err).__name__ + ': '
    return last.split(name, 1)[-1] if name in last else last


class TrainingDivergedError(RuntimeError):
    """A loss or weight became non-finite; the message is one line naming
    the iteration and the terms (``tools/train.py`` prints it alone)."""


class CheckpointNotSaved(RuntimeError):
    """A checkpoint could not be written (a full disk, a quota); the message
    is one line naming the file and the space, and says which file is kept
    (``tools/train.py`` prints it alone)."""


class TrainingInterrupted(SystemExit):
    """A run stopped by a signal after saving a checkpoint: exits with
    ``code`` (128 + the signal's number) once it reaches the interpreter;
    ``message`` is the line that says where it saved."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code)
        self.message = message

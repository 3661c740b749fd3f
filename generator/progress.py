"""Progress bars for long steps (VEGAS adaptation, sampling, run stages): the one home of the tqdm set-up.

A bar is drawn only when asked for *and* its stream (default ``sys.stderr``) is an interactive terminal, so
log files, batch jobs and pipes never receive carriage returns or escape codes. Otherwise
:func:`progress_bar` returns a :class:`NullBar` with the same methods that does nothing.
"""

from __future__ import annotations

import sys
from typing import TextIO


class NullBar:
    """A progress bar that draws nothing: same methods as the tqdm bars used here (update, set_postfix_str,
    close, context manager)."""

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` steps (ignored)."""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Label of the current step (ignored)."""

    def close(self) -> None:
        """Finish the bar (nothing to do)."""

    def __enter__(self) -> NullBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def is_terminal(stream: TextIO | None) -> bool:
    """True when ``stream`` is an interactive terminal (``isatty()``); False for files, pipes, None or streams
    without ``isatty``."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (OSError, ValueError):  # a closed or detached stream is not a terminal
        return False


def progress_bar(total: int, desc: str, enabled: bool = True, stream: TextIO | None = None, **options):
    """A tqdm bar over ``total`` steps labelled ``desc``, written to ``stream`` (default ``sys.stderr``).

    Returns a :class:`NullBar` when ``enabled`` is false or the stream is not a terminal. ``options`` go to
    ``tqdm`` (e.g. ``unit="stage"``, ``leave=False``). Callers use ``update``, ``set_postfix_str`` and
    ``close`` (or ``with``) on either kind of bar.
    """
    stream = sys.stderr if stream is None else stream
    if not enabled or not is_terminal(stream):
        return NullBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=stream, **options)


__all__ = ["NullBar", "is_terminal", "progress_bar"]

"""Progress bars are drawn only on a terminal: logs and pipes get no carriage returns or escape codes."""

from __future__ import annotations

import io

from generator.progress import NullBar, is_terminal, progress_bar


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_non_tty_stream_gets_no_bar_and_no_output():
    stream = io.StringIO()  # isatty() is False, like a log file or a pipe
    bar = progress_bar(5, "sample toy", enabled=True, stream=stream)
    assert isinstance(bar, NullBar)
    with bar:
        for _ in range(5):
            bar.update(1)
        bar.set_postfix_str("decays")
    assert stream.getvalue() == ""


def test_disabled_bar_is_null_even_on_a_terminal():
    stream = FakeTerminal()
    bar = progress_bar(3, "adapt toy", enabled=False, stream=stream)
    assert isinstance(bar, NullBar)
    bar.update(3)
    bar.close()
    assert stream.getvalue() == ""


def test_terminal_stream_gets_a_tqdm_bar():
    from tqdm import tqdm

    stream = FakeTerminal()
    bar = progress_bar(4, "sample toy", enabled=True, stream=stream, leave=False)
    assert isinstance(bar, tqdm)
    bar.update(4)
    bar.close()
    assert "sample toy" in stream.getvalue()


def test_is_terminal_of_odd_streams():
    assert not is_terminal(None)
    assert not is_terminal(object())
    closed = io.StringIO()
    closed.close()
    assert not is_terminal(closed)
    assert is_terminal(FakeTerminal())


def test_engine_progress_writes_nothing_to_a_non_tty_stderr(capsys):
    """generate(progress=True) under pytest's captured (non-terminal) stderr writes no bar."""
    import numpy as np

    from generator.engine import generate
    from tests.run.test_engine import Toy

    res = generate(Toy(), n_events=200, seed=1, n_adapt=2, evals_per_iter=2000, progress=True)
    assert res.block.n_events == 200
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b[" not in err and "sample" not in err
    assert np.isfinite(res.integral)

"""``python -m generator`` is the same as the ``dsgen`` console script."""

from generator.cli import console

raise SystemExit(console())

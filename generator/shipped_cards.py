"""The steering cards shipped with the package (top-level ``cards/``, installed as package ``cards``).

Read through ``importlib.resources``, so they are found the same way in a checkout, an editable install
and a plain ``pip install .``. ``dsgen run NAME`` and the other card-taking commands accept a shipped
card's name (``miniboone_bp_b``) wherever they accept a card path (:func:`open_card`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from generator.card import Card, load_card, parse_card
from generator.errors import UnknownCardError

#: the package that holds the shipped ``*.toml`` cards.
CARDS_PACKAGE = "cards"
CARD_SUFFIX = ".toml"


def _card_files() -> dict:
    """{name: Traversable} of the shipped cards, sorted by name."""
    root = resources.files(CARDS_PACKAGE)
    found = {f.name[: -len(CARD_SUFFIX)]: f for f in root.iterdir() if f.is_file() and f.name.endswith(CARD_SUFFIX)}
    return dict(sorted(found.items()))


def shipped_card_names() -> list[str]:
    """Names of the shipped cards (file stems), sorted."""
    return list(_card_files())


def describe(text: str) -> str:
    """One-line description of a card: the first sentence of its first comment line ('' if none)."""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            first = line.lstrip("#").strip()
            return first.split(". ")[0].rstrip(".")
        if line:
            break
    return ""


def shipped_cards() -> dict[str, str]:
    """{name: one-line description} of every shipped card, sorted by name."""
    return {name: describe(f.read_text(encoding="utf-8")) for name, f in _card_files().items()}


def format_cards(cards: dict[str, str]) -> str:
    """Table of {name: description}, one card a line (``dsgen cards``)."""
    width = max(map(len, cards), default=0)
    return "\n".join(f"{name:<{width}}  {text}" for name, text in cards.items())


def shipped_card_text(name: str) -> str:
    """TOML text of the shipped card ``name``; raises UnknownCardError listing the shipped names."""
    files = _card_files()
    if name not in files:
        raise UnknownCardError(name, files)
    return files[name].read_text(encoding="utf-8")


def load_shipped_card(name: str) -> Card:
    """Parse and validate the shipped card ``name`` (e.g. ``"miniboone_bp_b"``)."""
    files = _card_files()
    if name not in files:
        raise UnknownCardError(name, files)
    res = files[name]
    path = res if isinstance(res, Path) else Path(res.name)
    return parse_card(res.read_text(encoding="utf-8"), path)


def open_card(name_or_path: str | Path) -> Card:
    """A card from a file path, or else from a shipped card's name.

    An existing file always wins. Otherwise a bare name (no directory part; ``.toml`` optional) is
    looked up among the shipped cards (UnknownCardError lists them if it is not one); a path with a
    directory part that does not exist raises CardError naming it.
    """
    path = Path(name_or_path)
    if path.is_file():
        return load_card(path)
    if path.parent == Path() and path.suffix in ("", CARD_SUFFIX):
        return load_shipped_card(path.stem if path.suffix == CARD_SUFFIX else path.name)
    return load_card(path)


__all__ = [
    "describe", "format_cards", "load_shipped_card", "open_card", "shipped_card_names", "shipped_card_text",
    "shipped_cards",
]

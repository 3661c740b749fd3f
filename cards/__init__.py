"""The shipped steering cards (TOML), installed as package data.

Kept as a top-level folder so that a checkout reads ``cards/<name>.toml``; a package so that
``pip install .`` installs them and code reads them with ``importlib.resources`` (see
:mod:`generator.shipped_cards`, ``dsgen cards``). Holds no code.
"""

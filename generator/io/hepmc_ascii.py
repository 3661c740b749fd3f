"""HepMC3 ASCII event records from arrays at C speed: a template per channel, filled by a numba kernel.

Why: building a ``pyhepmc.GenEvent`` per event from Python and writing it (:mod:`generator.io.hepmc`) costs
about 60 us per 10-particle event, three quarters of a run's CPU. Here the record of one event of a channel is
compiled once into a :class:`Template`: pyhepmc's own text of that event with its per-event numbers replaced by
slots. :func:`Template.encode` fills the slots of every event of a slice from one array, formatting each float
with glibc's ``strfromd``, which goes through the same printf engine as the ``snprintf("%.*e")`` of HepMC3's
``WriterAscii``: the digits are the same by construction, not by imitation.

What is a slot (everything else is copied from pyhepmc's text of the channel's first event):
- ``E`` line: the event number; ``W`` line: the weight; ``A 0 GenCrossSection``: the running accepted and
  attempted counts (= event number + 1; cross section and error are the run's, the same in every event);
  ``A 0 lab_pos``: the primary vertex (x, y, z), mm, ``%f`` (HepMC3 writes it with ``std::to_string``);
- ``P`` lines: px, py, pz, E, generated mass (GeV); ``V`` lines: the position (x, y, z, c*t in mm) as
  `` @ x y z t``. A vertex at exactly (0, 0, 0, 0) has no position in HepMC3 and writes that of the production
  vertex of its first incoming particle that has one (``GenVertex::position``, recursively), or nothing.
Any other line or attribute makes the record unsupported (:func:`compile_template` returns None) and the caller
writes that channel with pyhepmc. The caller also checks the kernel's text of the first and last event of every
slice against pyhepmc's (generator.io.hepmc), so a difference can only cost speed, never change a file.

Columns of the value array (one row per event, :func:`value_array`): 0 event number, 1 event number + 1,
2 weight, 3-5 lab_pos (mm), then 5 per particle (px, py, pz, E, m in GeV), then 4 per particle (x, y, z, c*t
in mm, its production position). A vertex's own position is that of the first particle it produces
(``from_hepevt``); all particles it produces must share it (:meth:`Template.positions_agree`), else the slice
goes through pyhepmc.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass

import numpy as np

from generator.kernels import kernel

#: first value columns (see module docstring); then 5 momentum columns and 4 position columns per particle
COL_EVENT, COL_COUNT, COL_WEIGHT, COL_LAB = 0, 1, 2, 3
N_EVENT_COLUMNS = 6

# op kinds of a template (Template.ops; constants of the kernel)
_LITERAL, _FLOAT, _INT, _POSITION = 0, 1, 2, 3
#: widest %f text of a finite double: 309 integer digits, point, 6 decimals, sign
_F_WIDTH_MAX = 317
_E_TOKEN = re.compile(r"^-?\d(?:\.(\d+))?e[+-]\d+$")
_F_TOKEN = re.compile(r"^-?\d+\.\d{6}$")
_INT_TOKEN = re.compile(r"^-?\d+$")


def _strfromd_address() -> int | None:
    """Address of the C library's ``strfromd`` (glibc >= 2.25; C23), or None where there is none."""
    try:
        fn = ctypes.CDLL(None).strfromd
    except (OSError, AttributeError):
        return None
    return ctypes.cast(fn, ctypes.c_void_p).value


_STRFROMD = _strfromd_address()
if _STRFROMD is not None:
    import llvmlite.binding as _llvm
    from numba import types as _nt

    _llvm.add_symbol("strfromd", _STRFROMD)
    # int strfromd(char *str, size_t n, const char *format, double fp): not variadic, so callable from numba
    _strfromd = _nt.ExternalFunction("strfromd", _nt.intc(_nt.voidptr, _nt.uintp, _nt.voidptr, _nt.double))


def available() -> bool:
    """True when the kernel can run (the C library has ``strfromd``); otherwise everything goes through pyhepmc."""
    return _STRFROMD is not None


def value_array(ids, weights, lab, px, py, pz, en, mass, vx, vy, vz, vt) -> np.ndarray:
    """The value array (module docstring) of m events: ``ids`` event numbers (m,), ``weights`` (m,), ``lab`` (m, 3)
    primary vertex in mm, then per particle (m, P) momenta px, py, pz, E and generated mass (GeV) and production
    positions x, y, z, c*t (mm)."""
    m, n = np.shape(en)
    ids = np.asarray(ids, dtype=np.float64)
    mom = np.stack([px, py, pz, en, mass], axis=-1).reshape(m, 5 * n)
    pos = np.stack([vx, vy, vz, vt], axis=-1).reshape(m, 4 * n)
    return np.concatenate([ids[:, None], ids[:, None] + 1.0, np.reshape(weights, (m, 1)), lab, mom, pos], axis=1)


def momentum_column(k: int) -> int:
    """First of the 5 momentum columns (px, py, pz, E, m) of particle ``k`` (0-based)."""
    return N_EVENT_COLUMNS + 5 * k


def position_column(k: int, n_particles: int) -> int:
    """First of the 4 position columns (x, y, z, c*t) of particle ``k`` (0-based)."""
    return N_EVENT_COLUMNS + 5 * n_particles + 4 * k


@kernel
def _write_int(out, pos, value):
    """Decimal digits of the integer ``value`` at ``out[pos:]``; returns the new position."""
    if value < 0:
        out[pos] = 45  # '-'
        pos += 1
        value = -value
    digits = 1
    rest = value // 10
    while rest > 0:
        digits += 1
        rest //= 10
    for k in range(digits - 1, -1, -1):
        out[pos + k] = 48 + value % 10
        value //= 10
    return pos + digits


@kernel
def _encode(values, ops, chains, literal, formats, event_bound, out, ends):
    """Fill the template ``ops`` for every row of ``values`` into ``out``; ``ends[i]`` = end of event i.

    A vertex position op (_POSITION) takes the first non-zero group of 4 columns of its row of ``chains`` (-1 ends a
    row) and writes nothing when all are zero. Returns the number of bytes, or -1 if ``out`` could not hold another
    event of ``event_bound`` bytes (the caller sizes ``out`` so that this does not happen; the check keeps a wrong
    size from writing past it).
    """
    pos = 0
    for i in range(values.shape[0]):
        if pos + event_bound > out.size:
            return -1
        for j in range(ops.shape[0]):
            kind, a, b = ops[j, 0], ops[j, 1], ops[j, 2]
            if kind == _LITERAL:
                out[pos:pos + b] = literal[a:a + b]
                pos += b
            elif kind == _FLOAT:  # C format at formats[b:]
                pos += _strfromd(out[pos:].ctypes.data, out.size - pos, formats[b:].ctypes.data, values[i, a])
            elif kind == _INT:
                pos = _write_int(out, pos, np.int64(values[i, a]))
            else:  # _POSITION: " @ x y z t", its own or inherited, or nothing
                for d in range(chains.shape[1]):
                    c0 = chains[a, d]
                    if c0 < 0:
                        break
                    if values[i, c0] != 0.0 or values[i, c0 + 1] != 0.0 or values[i, c0 + 2] != 0.0 or \
                            values[i, c0 + 3] != 0.0:
                        out[pos] = 32
                        out[pos + 1] = 64
                        pos += 2
                        for c in range(4):
                            out[pos] = 32
                            pos += 1
                            pos += _strfromd(out[pos:].ctypes.data, out.size - pos, formats[b:].ctypes.data,
                                             values[i, c0 + c])
                        break
        ends[i] = pos
    return pos


@dataclass
class Template:
    """One event record with slots (see module docstring); make it with :func:`compile_template`.

    ``ops``: (n, 3) int64 rows (kind, a, b): literal bytes ``literal[a:a + b]``; float column ``a`` in the C
    format at ``formats[b:]``; integer column ``a``; position of vertex ``a`` (row ``a`` of ``chains``, format at b).
    ``chains``: per vertex, the first position column of the particles whose production position it writes: its
    own, then (HepMC3's ``GenVertex::position``: a vertex at exactly zero takes the position of the production
    vertex of its first incoming particle that has one) its ancestors', -1 after the last.
    ``fixed_bound``: the widest text of an event but for its %f floats (``f_columns``: widest by value);
    ``shared_positions``: per vertex producing several particles, those particles (their positions must agree).
    """

    ops: np.ndarray
    chains: np.ndarray
    literal: np.ndarray
    formats: np.ndarray
    n_particles: int
    fixed_bound: int
    f_columns: list[int]
    shared_positions: list[list[int]]

    def positions_agree(self, values: np.ndarray) -> bool:
        """True when every vertex's particles have the same production position in every row of ``values``."""
        n = self.n_particles
        for ks in self.shared_positions:
            first = position_column(ks[0], n)
            for k in ks[1:]:
                col = position_column(k, n)
                if not np.array_equal(values[:, first:first + 4], values[:, col:col + 4]):
                    return False
        return True

    def encode(self, values: np.ndarray) -> tuple[memoryview, np.ndarray] | None:
        """Text of the events of ``values`` (rows: events, columns: :func:`value_array`; ASCII bytes, not copied
        out of the kernel's buffer) and the end offset of each event, or None when a vertex's particles do not share
        its position (the caller uses pyhepmc)."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        if not self.positions_agree(values):
            return None
        bound = self.fixed_bound
        for col in self.f_columns:  # %f: as many integer digits as the largest value has
            v = np.abs(values[:, col])
            big = float(v[np.isfinite(v)].max(initial=0.0))
            bound += min(_F_WIDTH_MAX, 9 + (len(str(int(big))) if big >= 1 else 1))
        out = np.empty(bound * len(values), dtype=np.uint8)
        ends = np.empty(len(values), dtype=np.int64)
        n = _encode(values, self.ops, self.chains, self.literal, self.formats, bound, out, ends)
        if n < 0:
            msg = "HepMC3 template: output buffer too small (bound computed wrongly)"
            raise RuntimeError(msg)
        return memoryview(out)[:n], ends


class _Builder:
    """Collects the ops of a template while the record's lines are read."""

    def __init__(self) -> None:
        self.ops: list[tuple[int, int, int]] = []
        self.literal = bytearray()
        self.formats = bytearray()
        self.format_at: dict[str, int] = {}
        self.fixed_bound = 0
        self.f_columns: list[int] = []

    def text(self, s: str) -> None:
        data = s.encode("ascii")
        if self.ops and self.ops[-1][0] == _LITERAL and self.ops[-1][1] + self.ops[-1][2] == len(self.literal):
            kind, a, b = self.ops[-1]
            self.ops[-1] = (kind, a, b + len(data))
        else:
            self.ops.append((_LITERAL, len(self.literal), len(data)))
        self.literal += data
        self.fixed_bound += len(data)

    def _format(self, fmt: str) -> int:
        if fmt not in self.format_at:
            self.format_at[fmt] = len(self.formats)
            self.formats += fmt.encode("ascii") + b"\0"
        return self.format_at[fmt]

    def float(self, column: int, token: str) -> bool:
        """A float slot formatted like ``token`` (%.<d>e or %f); False when the token is neither."""
        m = _E_TOKEN.match(token)
        if m:
            digits = len(m.group(1) or "")
            self.ops.append((_FLOAT, column, self._format(f"%.{digits}e")))
            self.fixed_bound += digits + 9  # sign, digit, point, digits, e, sign, up to 3 exponent digits
            return True
        if _F_TOKEN.match(token):
            self.ops.append((_FLOAT, column, self._format("%f")))
            self.f_columns.append(column)
            return True
        return False

    def int(self, column: int) -> None:
        self.ops.append((_INT, column, 0))
        self.fixed_bound += 21

    def position(self, vertex: int, digits: int) -> None:
        self.ops.append((_POSITION, vertex, self._format(f"%.{digits}e")))
        self.fixed_bound += 2 + 4 * (digits + 10)


def compile_template(record: str, n_particles: int, event_number: int) -> Template | None:
    """The template of ``record``, pyhepmc's text of one event (``E`` line to its last line, newline-terminated)
    whose particles are the ``n_particles`` HEPEVT entries in order and whose number is ``event_number``.

    Returns None when the record has a line or attribute this module does not know (see module docstring).
    """
    lines = record.split("\n")
    if lines[-1] != "":
        return None
    b = _Builder()
    count = str(event_number + 1)
    digits = None  # decimals of the P lines' floats, used for vertex positions
    vertex_lines: list[tuple[int, str, list[str], int | None]] = []  # (op index, id, incoming ids, own '@' digits)
    produced: dict[str, list[int]] = {}  # vertex id -> indices of the particles it produces
    parent_of: dict[str, str] = {}  # particle id -> its production vertex id ("0": none)
    n_p = 0
    for line in lines[:-1]:
        t = line.split(" ")
        tag = t[0]
        if tag == "E" and len(t) == 4 and t[1] == str(event_number):
            b.text("E ")
            b.int(COL_EVENT)
            b.text(f" {t[2]} {t[3]}\n")
        elif tag == "U":
            b.text(line + "\n")
        elif tag == "W" and len(t) == 2:
            b.text("W ")
            if not b.float(COL_WEIGHT, t[1]):
                return None
            b.text("\n")
        elif tag == "A" and len(t) >= 4 and t[1] == "0":
            name, vals = t[2], t[3:]
            if name == "GenCrossSection" and len(vals) == 4 and vals[2] == vals[3] == count:
                b.text(f"A 0 {name} {vals[0]} {vals[1]} ")
                b.int(COL_COUNT)
                b.text(" ")
                b.int(COL_COUNT)
                b.text("\n")
            elif name == "lab_pos" and len(vals) == 3:
                b.text(f"A 0 {name}")
                for c, v in enumerate(vals):
                    b.text(" ")
                    if not b.float(COL_LAB + c, v):
                        return None
                b.text("\n")
            elif name in ("channel", "signal_process_id") and len(vals) == 1 and _INT_TOKEN.match(vals[0]):
                b.text(line + "\n")
            else:
                return None
        elif tag == "P" and len(t) == 10 and t[1] == str(n_p + 1) and _INT_TOKEN.match(t[2]):
            parent = t[2]
            if int(parent) > 0:  # produced at an implicit vertex: its position is not written
                return None
            parent_of[t[1]] = parent
            if int(parent) < 0:
                produced.setdefault(parent, []).append(n_p)
            b.text(f"P {t[1]} {parent} {t[3]} ")
            col = momentum_column(n_p)
            for c in range(5):
                if c:
                    b.text(" ")
                if not b.float(col + c, t[4 + c]):
                    return None
            m = _E_TOKEN.match(t[4])
            if m is None:  # vertex positions take the P lines' %.<d>e format
                return None
            digits = len(m.group(1) or "")
            b.text(f" {t[9]}\n")
            n_p += 1
        elif tag == "V" and len(t) in (4, 9) and t[3].startswith("[") and t[3].endswith("]"):
            own = None
            if len(t) == 9:
                m = _E_TOKEN.match(t[5]) if t[4] == "@" else None
                if m is None:
                    return None
                own = len(m.group(1) or "")
            b.text(f"V {t[1]} {t[2]} {t[3]}")
            vertex_lines.append((len(b.ops), t[1], t[3][1:-1].split(","), own))
            b.ops.append((_POSITION, 0, 0))  # filled below, once the particles it produces are known
            b.text("\n")
        else:
            return None
    if n_p != n_particles or digits is None or any(v not in produced for _, v, _, _ in vertex_lines):
        return None
    chains = []
    for row, (index, vid, _, own) in enumerate(vertex_lines):
        chain, v = [], vid
        while v is not None and len(chain) <= len(vertex_lines):
            chain.append(position_column(produced[v][0], n_particles))
            ins = next((ins for _, w, ins, _ in vertex_lines if w == v), [])
            v = next((parent_of[p] for p in ins if parent_of.get(p, "0") != "0"), None)
            if v is not None and v not in produced:
                return None
        chains.append(chain)
        start = len(b.ops)
        b.position(row, own if own is not None else digits)
        b.ops[index] = b.ops.pop(start)
    depth = max((len(c) for c in chains), default=1)
    shared = [ks for ks in produced.values() if len(ks) > 1]
    return Template(ops=np.array(b.ops, dtype=np.int64).reshape(-1, 3),
                    chains=np.array([c + [-1] * (depth - len(c)) for c in chains], dtype=np.int64).reshape(-1, depth),
                    literal=np.frombuffer(bytes(b.literal), dtype=np.uint8).copy(),
                    formats=np.frombuffer(bytes(b.formats), dtype=np.uint8).copy(), n_particles=n_particles,
                    fixed_bound=b.fixed_bound, f_columns=b.f_columns, shared_positions=shared)


__all__ = ["COL_COUNT", "COL_EVENT", "COL_LAB", "COL_WEIGHT", "N_EVENT_COLUMNS", "Template", "available",
           "compile_template", "momentum_column", "position_column", "value_array"]

"""Columnar event record shared by production, decay, output and detector steps.

Events of one *topology* (the same ordered particle list: same PDG codes, statuses and mothers) form
an :class:`EventBlock`: struct of arrays, **events first**. A run is a list of blocks (one per
channel and decay topology); writers turn blocks into jagged (awkward) arrays or HepMC3 events.

Particle conventions inside a block (index k = 0 .. P-1):
- ``status``: 4 = incoming beam/target particle, 2 = decayed intermediate, 1 = final state.
- ``mother``: index of the particle whose *decay* produced k; -1 for particles of the primary
  interaction (incoming particles have status 4 and mother -1).
  The primary vertex has all status-4 particles in and every mother == -1 non-beam particle out;
  the decay vertex of particle k has k in and every particle with mother == k out.
- ``p``: (n, P, 4) four-momenta (E, px, py, pz) in GeV, lab frame.
- ``x``: (n, P, 4) production vertex (c*t, x, y, z) in cm, lab frame (c*t in cm).
- ``pol``: (n, P) longitudinal polarisation (helicity, -1..1) of HNLs in the lab; 0 when not set.
- ``weight``: (n,) event weight in ``weight_unit`` ("events" = expected events for the exposure of
  the run; "cm2" = cross section when there is no exposure). Weighted samples sum to the rate.
- ``info``: event-level columns (n,), e.g. "E_nu" (GeV), "Q2" (GeV^2), "regime" (int), "target" (int).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STATUS_BEAM = 4
STATUS_DECAYED = 2
STATUS_FINAL = 1

REGIME_IDS = {"none": 0, "coherent": 1, "incoherent": 2}


@dataclass
class EventBlock:
    """Events sharing one topology; all per-event arrays have the event axis first."""

    channel: str
    pdg: np.ndarray
    status: np.ndarray
    mother: np.ndarray
    p: np.ndarray
    x: np.ndarray
    weight: np.ndarray
    pol: np.ndarray | None = None
    info: dict[str, np.ndarray] = field(default_factory=dict)
    weight_unit: str = "events"
    names: tuple[str, ...] | None = None  # optional labels per particle ("nu_mu", "C12", "N6", ...)

    def __post_init__(self) -> None:
        self.pdg = np.asarray(self.pdg, dtype=np.int64)
        self.status = np.asarray(self.status, dtype=np.int32)
        self.mother = np.asarray(self.mother, dtype=np.int32)
        self.p = np.ascontiguousarray(self.p, dtype=np.float64)
        self.x = np.ascontiguousarray(self.x, dtype=np.float64)
        self.weight = np.asarray(self.weight, dtype=np.float64)
        n, P = self.p.shape[:2]
        if self.pol is None:
            self.pol = np.zeros((n, P))
        if self.p.shape != (n, P, 4) or self.x.shape != (n, P, 4):
            msg = f"p and x must be (n, P, 4); got {self.p.shape}, {self.x.shape}"
            raise ValueError(msg)
        for name, arr in (("pdg", self.pdg), ("status", self.status), ("mother", self.mother)):
            if arr.shape != (P,):
                msg = f"{name} must have shape (P,) = ({P},), got {arr.shape}"
                raise ValueError(msg)
        if self.weight.shape != (n,):
            msg = f"weight must have shape ({n},), got {self.weight.shape}"
            raise ValueError(msg)
        for k, v in self.info.items():
            if np.shape(v)[0] != n:
                msg = f"info[{k!r}] has {np.shape(v)[0]} entries, expected {n}"
                raise ValueError(msg)

    # ------------------------------------------------------------------ properties
    @property
    def n_events(self) -> int:
        return self.p.shape[0]

    @property
    def n_particles(self) -> int:
        return self.p.shape[1]

    def masses(self) -> np.ndarray:
        """Invariant masses m = sqrt(max(E^2 - |p|^2, 0)) of every particle, (n, P) in GeV."""
        p = self.p
        m2 = p[..., 0] ** 2 - p[..., 1] ** 2 - p[..., 2] ** 2 - p[..., 3] ** 2
        return np.sqrt(np.clip(m2, 0.0, None))

    def daughters(self, k: int) -> np.ndarray:
        """Indices of the particles produced in the decay of particle k."""
        return np.flatnonzero(self.mother == k)

    def primary_out(self) -> np.ndarray:
        """Indices of the particles leaving the primary vertex."""
        return np.flatnonzero((self.mother == -1) & (self.status != STATUS_BEAM))

    def select(self, mask_or_index) -> EventBlock:
        """A block with a subset of events (boolean mask or index array)."""
        return EventBlock(
            channel=self.channel, pdg=self.pdg, status=self.status, mother=self.mother,
            p=self.p[mask_or_index], x=self.x[mask_or_index], weight=self.weight[mask_or_index],
            pol=self.pol[mask_or_index], info={k: np.asarray(v)[mask_or_index] for k, v in self.info.items()},
            weight_unit=self.weight_unit, names=self.names,
        )

    @staticmethod
    def concatenate(blocks: list[EventBlock]) -> EventBlock:
        """Join blocks of the same topology along the event axis (e.g. merging shards)."""
        first = blocks[0]
        for b in blocks[1:]:
            if not (np.array_equal(b.pdg, first.pdg) and np.array_equal(b.status, first.status)
                    and np.array_equal(b.mother, first.mother)):
                msg = f"cannot concatenate blocks of different topology ({first.channel} vs {b.channel})"
                raise ValueError(msg)
        keys = set(first.info)
        return EventBlock(
            channel=first.channel, pdg=first.pdg, status=first.status, mother=first.mother,
            p=np.concatenate([b.p for b in blocks]), x=np.concatenate([b.x for b in blocks]),
            weight=np.concatenate([b.weight for b in blocks]), pol=np.concatenate([b.pol for b in blocks]),
            info={k: np.concatenate([np.asarray(b.info[k]) for b in blocks]) for k in keys},
            weight_unit=first.weight_unit, names=first.names,
        )

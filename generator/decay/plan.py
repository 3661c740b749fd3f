"""DecayPlan: what decays into what for one run (channels per state, forced/all mode, stable list, volume) and
the cached momentum samplers of its channels.

Units: widths and masses in GeV, c*tau0 in cm.
"""

from __future__ import annotations

import zlib

import numpy as np

from generator.decay.samplers import has_sampler, make_sampler
from generator.errors import CardError, UnknownNameError
from generator.geometry import ForcedVolume, volume_from_card
from generator.particles import ParticleTable

__all__ = ["DecayPlan", "parse_channel_label"]


def parse_channel_label(text: str, key: str) -> tuple[str, tuple[str, ...]]:
    """(parent, daughters) of a card channel "N6 -> N5 e+ e-"; CardError naming ``key`` if it is not one."""
    if "->" not in text:
        msg = f"{text!r} is not a channel; write it as 'N6 -> N5 e+ e-'"
        raise CardError(key, msg)
    parent, rest = text.split("->", 1)
    daughters = tuple(rest.split())
    if not parent.strip() or not daughters:
        msg = f"{text!r} is not a channel; write it as 'N6 -> N5 e+ e-'"
        raise CardError(key, msg)
    return parent.strip(), daughters



def _exclusive(chan) -> bool:
    """True for channels whose kind has a sampler: an exclusive final state (not e.g. "hadrons")."""
    return has_sampler(chan)


class DecayPlan:
    """What decays into what for one run: channels per state, forced/all mode, stable list, volume.

    Built from the model and the card's [decay] section; raises CardError / UnknownNameError naming the
    bad card entry and the allowed values.

    Inclusive channels without an exclusive final state (kind "hadrons", e.g. Z' -> hadrons) cannot be
    written as particles: they are never generated, and in mode "all" the events carry the weight factor
    sum of the exclusive branching ratios (so weights still sum to the rate of what is generated).
    """

    def __init__(self, model, section, table: ParticleTable | None = None, prescan_seed=None) -> None:
        """prescan_seed: seed (int or sequence) of the accept-reject bound prescans. With it the bounds, and so
        the sampled events for a given decay stream, do not depend on which events are decayed first: a run
        can then decay its production chunks one by one (generator.run) and shards merge exactly. Each channel's
        prescan draws from its own stream (prescan_seed, crc32 of the channel label), so the bounds also do not depend
        on the order in which the channels are first met."""
        self._prescan_seed = None if prescan_seed is None else [int(x) for x in np.atleast_1d(prescan_seed)]
        self.model = model
        self.section = section
        self.table = table or ParticleTable(model)
        self.mode = section.mode
        self.channels: dict[str, list] = {}
        for name in (*model.spectrum.heavy_names, "Z'", "phi'"):
            # a channel closed by kinematics or couplings has width 0 and cannot be drawn: it is left out; a
            # state without any open channel is left out too (it stays undecayed). Errors propagate.
            chans = [c for c in model.decay_channels(name) if c.width_GeV > 0]
            if chans:
                self.channels[name] = chans
        known = self.table.accepted_names
        for i, s in enumerate(section.stable):
            if s not in known:
                what = f"state in decay.stable[{i}]"
                raise UnknownNameError(what, s, known)
        self.stable = {self.table.canonical(s) for s in section.stable}
        self.forced: dict[str, list] = {}
        if self.mode == "forced":
            allowed = [c.name for chans in self.channels.values() for c in chans if _exclusive(c)]
            for i, text in enumerate(section.forced):
                key = f"decay.forced[{i}]"
                parent, daughters = parse_channel_label(text, key)
                parent = self.table.canonical(parent)
                daughters = tuple(self.table.canonical(d) for d in daughters)
                match = [c for c in self.channels.get(parent, [])
                         if _exclusive(c) and sorted(c.daughters) == sorted(daughters)]
                if not match:
                    what = f"decay channel in {key}"
                    raise UnknownNameError(what, text, allowed)
                if parent in self.stable:
                    msg = f"{text!r} decays {parent}, which is listed in decay.stable; remove one of them"
                    raise CardError(key, msg)
                lst = self.forced.setdefault(parent, [])
                for c in match:
                    if c not in lst:
                        lst.append(c)
        self.volume: ForcedVolume | None = None
        if section.volume is not None:
            self.volume = volume_from_card(section.volume)
            for i, name in enumerate(self.volume.particles):
                if name not in known:
                    what = f"state in decay.volume.particles[{i}]"
                    raise UnknownNameError(what, name, known)
            self.volume = ForcedVolume(self.volume.shape, tuple(self.table.canonical(n) for n in self.volume.particles))
        self._samplers: dict = {}
        self._ctau: dict[str, float] = {}
        self._options: dict[str, tuple[list, np.ndarray, float]] = {}

    # ------------------------------------------------------------------ queries
    def options(self, name: str) -> tuple[list, np.ndarray, float]:
        """(channels, selection probabilities, weight factor) of a state; empty list if it does not decay here.

        mode "all": every exclusive channel, probabilities = branching ratios renormalised over them, weight
        factor = their summed branching ratio (1 unless inclusive channels exist). mode "forced": the listed
        channels, probabilities = relative branching ratios, weight factor = their summed branching ratio.
        """
        if name in self._options:
            return self._options[name]
        res: tuple[list, np.ndarray, float] = ([], np.zeros(0), 1.0)
        if name not in self.stable:
            pool = self.forced.get(name, []) if self.mode == "forced" else self.channels.get(name, [])
            chans = [c for c in pool if _exclusive(c)]
            if chans:
                br = np.array([c.width_GeV for c in chans]) / self.total_width(name)
                res = (chans, br / br.sum(), float(br.sum()))
        self._options[name] = res
        return res

    def total_width(self, name: str) -> float:
        """Total width of a state in GeV (model.width, the sum over ALL channels)."""
        return float(self.model.width(name))

    def ctau0_cm(self, name: str) -> float:
        """Proper decay length c*tau0 in cm from the TOTAL width (model.ctau0_cm)."""
        if name not in self._ctau:
            self._ctau[name] = float(self.model.ctau0_cm(name))
        return self._ctau[name]

    def masses(self, chan) -> list[float]:
        """Daughter masses of a channel in GeV (the channel's own, else the particle table's)."""
        dm = tuple(getattr(chan, "daughter_masses", ()) or ())
        if len(dm) == len(chan.daughters):
            return [float(m) for m in dm]
        return [self.table.mass(d) for d in chan.daughters]

    def sampler(self, chan, rng: np.random.Generator):
        """The (cached) momentum sampler of a channel, from the factory registered for its kind
        (generator.decay.samplers.SAMPLERS); three-body bounds are pre-scanned with the plan's prescan stream
        when it has one, else with ``rng``."""
        label = chan.name
        if label not in self._samplers:
            if self._prescan_seed is not None:
                prescan_rng = np.random.default_rng([*self._prescan_seed, zlib.crc32(label.encode())])
            else:
                prescan_rng = rng
            self._samplers[label] = make_sampler(chan, self.table.mass(chan.parent), self.masses(chan), prescan_rng)
        return self._samplers[label]

    def stats(self) -> dict[str, dict]:
        """Accept-reject statistics per channel label."""
        return {label: s.stats.as_dict() for label, s in self._samplers.items()}

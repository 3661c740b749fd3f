"""What a production module hands to the run orchestration: one engine process plus its bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ChannelSpec:
    """One generated channel.

    process : an engine process (generator/engine.py contract), weights in expected events.
    production : "upscattering", "ee_pair", "upsilon", "higgsstrahlung", "isr", "kaon_decay".
    final_hnl : HNL (or pair, e.g. "N4N5") produced.
    target, regime : scattering target ("C12", "p", ...) and regime ("coherent"/"incoherent"), or None.
    exposure : factor with expected_events = sigma_cm2 * exposure (targets x POT x flux integral, in cm^-2;
        or integrated luminosity in cm^-2); None when a cross section does not apply (decays).
    extra : further JSON-ready numbers for summary.json (sqrt_s_GeV, luminosity_fb, ...).
    """

    process: object
    production: str
    final_hnl: str
    target: str | None = None
    regime: str | None = None
    exposure: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        parts = [self.production, self.target, self.regime, self.final_hnl]
        return ":".join(p for p in parts if p)

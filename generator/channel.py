"""What a production module hands to the run orchestration: one engine process plus its bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.processes.registry import Process


@dataclass
class ChannelSpec:
    """One generated channel.

    process : an engine process (generator.processes.registry.Process), weights in expected events or cm^2.
    production : name of the production mode in generator.processes.registry.PRODUCTIONS.
    final_hnl : HNL (or pair, e.g. "N4N5") produced.
    target, regime : scattering target ("C12", "p", ...) and regime ("coherent"/"incoherent"), or None.
    exposure : factor with expected_events = sigma_cm2 * exposure (targets x POT x flux integral, in cm^-2;
        or integrated luminosity in cm^-2); None when a cross section does not apply (decays).
    extra : further JSON-ready numbers for summary.json (sqrt_s_GeV, luminosity_fb, ...).
    """

    process: Process
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

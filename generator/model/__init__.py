"""The dark-seesaw model: parameters, spectrum (Takagi), vertices, widths and observables."""

from generator.model.parameters import PRESETS, ModelParameters, preset
from generator.model.spectrum import Spectrum, build_mass_matrix, takagi

__all__ = ["PRESETS", "ModelParameters", "Spectrum", "build_mass_matrix", "preset", "takagi"]

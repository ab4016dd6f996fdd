"""keras.preprocessing.sequence"""
from ...preprocessing.sequence import pad_sequences  # noqa: F401

from .._paths import path_module  # noqa: E402

# Keras 2.3's names in this module; one threestep lacks raises NotSupportedError on import.
__getattr__, __dir__ = path_module(__name__, [
    "pad_sequences", "TimeseriesGenerator", "make_sampling_table", "skipgrams",
], source="threestep.preprocessing.sequence",
    hint="a threestep.keras.utils.Sequence that slices your arrays into windows (for "
         "TimeseriesGenerator), or your own sampling code (skipgrams)")

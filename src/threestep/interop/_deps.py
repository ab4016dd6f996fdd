"""Optional dependencies of the interop and export rooms, each with the extra that installs it."""
import importlib

from ..errors import ConfigError

_EXTRAS = {"h5py": "keras-io", "onnx": "onnx", "torch": "torch"}


def require(module):
    """Import ``module`` or raise a ConfigError naming the pip extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = _EXTRAS.get(module, module)
        raise ConfigError(f"This needs the package {module!r}, which is not installed. Install it with "
                          f"pip install \"threestep[{extra}]\" (or pip install {module}).") from None

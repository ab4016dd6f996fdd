"""keras.utils.vis_utils: the Keras 2 home of ``plot_model`` and ``model_to_dot``."""
from ...utils.vis import model_to_dot, plot_model  # noqa: F401

"""keras.models"""
from ..models import *  # noqa: F401,F403
from ..models import Model, Sequential  # noqa: F401

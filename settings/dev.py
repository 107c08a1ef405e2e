"""Local development and the quick start: the embedded defaults, debug on."""

from .base import *  # noqa: F403

DEBUG = True

"""LINE platform emulator and resident simulator: ``create_app``, ``run``, ``EmulatorOptions``."""

from emulator.app import STATE, create_app, run
from emulator.options import EmulatorOptions

__all__ = ["STATE", "EmulatorOptions", "create_app", "run"]

"""The field scenario (``creditlines demo``): ``scenario`` loads it through the real services,
``history`` replays months of orders and payments, ``insurance`` the insurer's wave of cuts,
``keys`` keeps and prints the demo's keys."""

from creditlines.demo.keys import keys_file, print_welcome, write_private
from creditlines.demo.scenario import load

__all__ = ["keys_file", "load", "print_welcome", "write_private"]

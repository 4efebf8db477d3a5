"""Allow `python -m tap_deel`."""

from tap_deel.tap import TapDeel

TapDeel.cli()

"""Allow `python -m target_jumpcloud`."""

from target_jumpcloud.target import TargetJumpCloud

TargetJumpCloud.cli()

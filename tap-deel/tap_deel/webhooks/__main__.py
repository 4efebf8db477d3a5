"""`python -m tap_deel.webhooks`: the `deel-webhooks` command."""

import sys

from tap_deel.webhooks.cli import main

sys.exit(main())

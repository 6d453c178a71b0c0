"""`python -m engine`: the same as the `aoud-adventure` command."""

import sys

from .cli import main

sys.exit(main())

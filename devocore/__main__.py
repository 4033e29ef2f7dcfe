"""``python -m devocore``: see :mod:`devocore.cli`."""
import sys

from devocore.cli import main

sys.exit(main())

"""``python -m placement.cli``: the same command as ``placement``."""
import sys

from placement.cli import main

sys.exit(main())

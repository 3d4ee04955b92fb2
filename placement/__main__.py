"""``python -m placement``: the same command as ``placement``."""
import sys

from placement.cli import main

sys.exit(main())

"""python -m vector_boot_evolution: the vb-evolve CLI."""
import sys

from .cli import main

sys.exit(main())

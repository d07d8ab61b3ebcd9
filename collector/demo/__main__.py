"""``python -m collector.demo`` (what ``make demo`` runs): see ``collector.demo.run``."""

import sys

from collector.demo.run import main

sys.exit(main())

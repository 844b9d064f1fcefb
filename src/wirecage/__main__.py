import sys

from wirecage.cli import main

sys.exit(main())

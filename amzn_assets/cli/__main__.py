import sys

from amzn_assets.cli import main

sys.exit(main())

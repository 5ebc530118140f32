import sys

from sentinel_pipeline.cli import main

sys.exit(main())

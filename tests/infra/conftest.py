"""tests/infra: the container image, compose file and Helm chart, checked without Docker or Helm."""

import sys
from pathlib import Path

# Helpers of this folder (helmlite, infra_files) import by name, like tests/support does.
sys.path.insert(0, str(Path(__file__).resolve().parent))

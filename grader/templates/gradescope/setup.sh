#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source, when it builds the
# autograder image. It installs the grader (this folder) with its dependencies
# into a virtual environment, /autograder/venv, which run_autograder uses.
# Written by `grader bundle --gradescope`.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="${AUTOGRADER_ROOT:-/autograder}"

if ! python3 -c "import sys, venv, ensurepip; assert sys.version_info >= (3, 10)" 2>/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
python3 -m venv "$ROOT/venv"
# Where packages come from: pip's own settings are honoured (PIP_INDEX_URL for a
# mirror of PyPI, PIP_EXTRA_INDEX_URL for more indexes, pip.conf). torch comes
# from GRADER_TORCH_INDEX_URL, added to those: by default PyTorch's CPU index
# (Gradescope has no GPU); set it to your mirror of that index, or to "" where
# the CPU build is on your main index (no extra index is then asked).
TORCH_INDEX="${GRADER_TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu}"
if [ -n "$TORCH_INDEX" ]; then
    export PIP_EXTRA_INDEX_URL="${PIP_EXTRA_INDEX_URL:+$PIP_EXTRA_INDEX_URL }$TORCH_INDEX"
fi
"$ROOT/venv/bin/python" -m pip install --no-cache-dir --upgrade pip
# torch at the version in constraints.txt (the one the course is tested with).
"$ROOT/venv/bin/python" -m pip install --no-cache-dir -c constraints.txt .
"$ROOT/venv/bin/python" -c "import grader, numpy, torch; print('grader', grader.__version__, '| numpy', numpy.__version__, '| torch', torch.__version__)"

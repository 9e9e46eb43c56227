#!/usr/bin/env bash
# Every headline benchmark against the PyTorch peers in one go (about 10 minutes on the 2-core
# machine), ending with the README's speed table: wall time per step (per member-step for sweeps),
# evaluation, rows and checkpoints included, against the faster peer recipe at its best thread
# count, alternating in one run.
#   bench/all.sh [ROUNDS]        (default 2; PEER_DIR defaults to ../shared/bench)
# The peers need Debian's python3-torch (apt-get install -y python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
./hesstrain --version >/dev/null   # build (and record the class archive) outside the timings
exec python3 bench/all.py "$@"

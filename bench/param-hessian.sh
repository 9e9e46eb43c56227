#!/usr/bin/env bash
# Benchmark: the full Hessian of the cross-entropy loss w.r.t. all 23,365 parameters of
# configs/conv12.yaml (Conv2d(1,32,3,1,1) -> flatten -> Linear(4608,5), 8 images of 12x12), in
# `hesstrain inspect-hessian --quantity full` (rows streamed to hessian.npy) beside the PyTorch peer
# ../shared/bench/torch_param_hessian.py (one torch.autograd.grad per row, rows kept in memory),
# alternating the two ROUNDS times so that both see the same machine load.
#   bench/param-hessian.sh [ROWS] [ROUNDS] [THREADS] [PEER_THREADS]
#       defaults 2000, 3, inspect-hessian's default (a row worker per core), 2 (the peer's default);
#       ROWS=0: the whole matrix
# ROWS > 0 computes only the first ROWS rows on both sides (inspect-hessian --rows, the peer's --rows),
# a quick estimate. hesstrain's figure is the `full` quantity's seconds in summary.json: the rows'
# computation and streaming them to disk, without JVM start, model loading, the gradient graph's
# construction and the symmetry check, which are printed beside it. The peer's figure is its own
# `seconds` (graph construction included, no file written). hesstrain runs THREADS row workers
# (each op on one thread) plus its writer thread, the peer PEER_THREADS intra-op threads.
# The peer needs Debian's python3-torch (apt-get install -y python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-2000}"; rounds="${2:-3}"; threads="${3:-}"; peer_threads="${4:-2}"
out="$(mktemp -d "${TMPDIR:-/tmp}/param-hessian.XXXXXX")"
trap 'rm -rf "$out"' EXIT
peer="${PEER_DIR:-../shared/bench}/torch_param_hessian.py"   # PEER_DIR when run from another checkout
have_peer=0
if [[ -f "$peer" ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_peer=1; fi
rows_opt=(); peer_rows=(); threads_opt=()
if [[ -n "$threads" ]]; then threads_opt=(--threads "$threads"); fi
if (( rows > 0 )); then rows_opt=(--rows "$rows"); peer_rows=(--rows "$rows"); fi

json() { # $1 = file, $2 = python expression on s
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($2)" "$1"
}

./hesstrain --version >/dev/null  # build first, outside the timings
h_all=(); t_all=()
for r in $(seq 1 "$rounds"); do
  start=$(date +%s.%N)
  ./hesstrain inspect-hessian --config configs/conv12.yaml --wrt params --of loss --quantity full "${rows_opt[@]}" \
    "${threads_opt[@]}" --out "$out/inspect" --json >"$out/summary.json" 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  wall=$(python3 -c "import time; print(time.time() - $start)")
  h=$(json "$out/summary.json" "s['quantities']['full']['seconds']")
  n=$(json "$out/summary.json" "s['quantities']['full']['rows']")
  extra=$(json "$out/summary.json" "'graph %.2f s, symmetry check %.2f s, whole command %.1f s' % (sum(v for k, v in s['timings'].items() if k.startswith('graph')), s['quantities']['full']['max_asymmetry_seconds'], $wall)")
  rm -f "$out/inspect/hessian.npy"
  h_all+=("$h")
  if (( have_peer )); then
    t=$(/usr/bin/python3 "$peer" --threads "$peer_threads" "${peer_rows[@]}" | awk '/^seconds/ {print $2}')
    t_all+=("$t")
    printf 'round %d: %s rows   hesstrain %.3f s   pytorch %.3f s   ratio %.3f   (hesstrain %s)\n' \
      "$r" "$n" "$h" "$t" "$(python3 -c "print($h/$t)")" "$extra"
  else
    printf 'round %d: %s rows   hesstrain %.3f s   (%s)\n' "$r" "$n" "$h" "$extra"
  fi
done
stats() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%s %s", a[1], (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
read -r hmin hmed <<<"$(stats "${h_all[@]}")"
printf 'min/median  hesstrain %.3f / %.3f s' "$hmin" "$hmed"
if (( have_peer )); then
  read -r tmin tmed <<<"$(stats "${t_all[@]}")"
  printf '   pytorch %.3f / %.3f s   ratio hesstrain/pytorch of the minima %.3f, of the medians %.3f  (goal <= 1.0, aim 0.5)\n' \
    "$tmin" "$tmed" "$(python3 -c "print($hmin/$tmin)")" "$(python3 -c "print($hmed/$tmed)")"
else
  printf '\npytorch peer not run: needs %s and /usr/bin/python3 with torch (apt-get install -y python3-torch)\n' "$peer"
fi

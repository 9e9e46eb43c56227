#!/usr/bin/env bash
# Benchmark: wall milliseconds per training step of the sin2pi model (2-10-11-12-1 tanh MLP, 500
# samples, full batch, Adam, exact input-Hessian penalty) in hesstrain (summary.json's
# wall_ms_per_step: the training loop's wall time / steps, evaluation, rows and checkpoints
# included; the median step beside it, labelled), beside the PyTorch peer
# ../shared/bench/torch_train_step.py (torch.autograd.grad with create_graph; its ms_per_step is
# its timed loop's wall time / steps) at 2 threads and 1, the ratio against the faster; alternating
# ROUNDS times so that all see the same machine load; then one long run for memory: resident
# memory at step 2,000 and at step MEMSTEPS.
#   bench/train-step.sh [ROUNDS] [STEPS] [MEMSTEPS]     (defaults 3, 2000, 20000; MEMSTEPS=0 skips)
#   BASE_DIR=<another checkout>: its ./hesstrain in every round too (before/after a change); a
#   summary without wall_ms_per_step counts the wall time from metrics.csv's seconds.
# The peer needs Debian's python3-torch (apt-get install -y python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"; steps="${2:-2000}"; memsteps="${3:-20000}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
peer="${PEER_DIR:-../shared/bench}/torch_train_step.py"   # PEER_DIR when run from another checkout
have_peer=0
if [[ -f "$peer" ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_peer=1; fi

wall_of() { # $1 = run dir: "wall_ms_per_step median_ms_per_step"
  python3 - "$1" <<'PY'
import csv, json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
wall = s.get("wall_ms_per_step")
if wall is None:  # an older build: the epochs' seconds (evaluation and rows included, checkpoints not)
    wall = sum(float(r["seconds"]) for r in csv.DictReader(open(sys.argv[1] + "/metrics.csv"))) * 1e3 / s["steps"]
print(wall, s["ms_per_step"])
PY
}

run_hesstrain() { # $1 = steps, $2 = run dir, $3 = checkout (default .); prints "wall median"
  (cd "${3:-.}" && ./hesstrain train --config configs/sin2pi.yaml --out "$2" --set train.epochs="$1" \
    --set train.checkpoint_every="$1" --set data.validation=0 >/dev/null 2>"$out/err") || { cat "$out/err" >&2; exit 1; }
  wall_of "$2"
}

./hesstrain --version >/dev/null  # build first, outside the timings
[[ -n "${BASE_DIR:-}" ]] && (cd "$BASE_DIR" && ./hesstrain --version >/dev/null)
h_all=(); t_all=(); t1_all=(); b_all=()
for r in $(seq 1 "$rounds"); do
  read -r h hmed <<<"$(run_hesstrain "$steps" "$out/run-$r")"
  h_all+=("$h")
  if [[ -n "${BASE_DIR:-}" ]]; then
    read -r b bmed <<<"$(run_hesstrain "$steps" "$out/base-$r" "$BASE_DIR")"
    b_all+=("$b")
    printf 'round %d: base (%s) %.4f wall ms/step (median step %.4f)   this %.4f (median %.4f)   this/base %.3f\n' \
      "$r" "$BASE_DIR" "$b" "$bmed" "$h" "$hmed" "$(python3 -c "print($h/$b)")"
  fi
  if (( have_peer )); then
    t=$(/usr/bin/python3 "$peer" --steps "$steps" --warmup 100 | awk '/^ms_per_step/ {print $2}')
    t1=$(/usr/bin/python3 "$peer" --steps "$steps" --warmup 100 --threads 1 | awk '/^ms_per_step/ {print $2}')
    t_all+=("$t"); t1_all+=("$t1")
    printf 'round %d: hesstrain %.4f wall ms/step (median step %.4f)   pytorch %.4f wall ms/step (2 threads), %.4f (1 thread)   hesstrain/faster %.3f\n' \
      "$r" "$h" "$hmed" "$t" "$t1" "$(python3 -c "print($h/min($t, $t1))")"
  else
    printf 'round %d: hesstrain %.4f wall ms/step (median step %.4f)\n' "$r" "$h" "$hmed"
  fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
hm=$(median "${h_all[@]}")
printf 'median of rounds: hesstrain %.4f wall ms/step' "$hm"
if [[ -n "${BASE_DIR:-}" ]]; then
  bm=$(median "${b_all[@]}")
  printf '   base %.4f   this/base %.3f' "$bm" "$(python3 -c "print($hm/$bm)")"
fi
if (( have_peer )); then
  tm=$(median "${t_all[@]}"); t1m=$(median "${t1_all[@]}")
  printf '   pytorch %.4f wall ms/step (2 threads), %.4f (1 thread)   hesstrain/faster peer %.3f  (goal <= 0.6)\n' \
    "$tm" "$t1m" "$(python3 -c "print($hm/min($tm, $t1m))")"
else
  printf '\npytorch peer not run: needs %s and /usr/bin/python3 with torch (apt-get install -y python3-torch)\n' "$peer"
fi

if (( memsteps > 0 )); then
  run_hesstrain "$memsteps" "$out/mem" >/dev/null
  python3 - "$out/mem/summary.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["resident_mb_at_step"]
last = max(r, key=int)
print("memory    resident MB at step 2000: %.1f, at step %s: %.1f, growth %.1f MB (goal < 100)"
      % (r["2000"], last, r[last], r[last] - r["2000"]))
PY
fi

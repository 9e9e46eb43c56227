#!/usr/bin/env bash
# Benchmark: milliseconds per training step of the sin2pi model (2-10-11-12-1 tanh MLP, 500
# samples, full batch, Adam, exact input-Hessian penalty) in hesstrain, beside the PyTorch peer
# ../shared/bench/torch_train_step.py (torch.autograd.grad with create_graph), alternating the two
# ROUNDS times so that both see the same machine load; then one long run for memory: resident
# memory at step 2,000 and at step MEMSTEPS.
#   bench/train-step.sh [ROUNDS] [STEPS] [MEMSTEPS]     (defaults 3, 2000, 20000; MEMSTEPS=0 skips)
# The peer needs Debian's python3-torch (apt-get install -y python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"; steps="${2:-2000}"; memsteps="${3:-20000}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
peer="${PEER_DIR:-../shared/bench}/torch_train_step.py"   # PEER_DIR when run from another checkout
have_peer=0
if [[ -f "$peer" ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_peer=1; fi

run_hesstrain() { # $1 = steps, $2 = run dir; prints the summary's ms_per_step
  ./hesstrain train --config configs/sin2pi.yaml --out "$2" --set train.epochs="$1" \
    --set train.checkpoint_every="$1" --set data.validation=0 >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['ms_per_step'])" "$2/summary.json"
}

./hesstrain --version >/dev/null  # build first, outside the timings
h_all=(); t_all=(); t1_all=()
for r in $(seq 1 "$rounds"); do
  h=$(run_hesstrain "$steps" "$out/run-$r")
  h_all+=("$h")
  if (( have_peer )); then
    t=$(/usr/bin/python3 "$peer" --steps "$steps" --warmup 100 | awk '/^ms_per_step/ {print $2}')
    t1=$(/usr/bin/python3 "$peer" --steps "$steps" --warmup 100 --threads 1 | awk '/^ms_per_step/ {print $2}')
    t_all+=("$t"); t1_all+=("$t1")
    printf 'round %d: hesstrain %.4f ms/step   pytorch %.4f ms/step (2 threads, its default), %.4f (1 thread)   ratios %.3f, %.3f\n' \
      "$r" "$h" "$t" "$t1" "$(python3 -c "print($h/$t)")" "$(python3 -c "print($h/$t1)")"
  else
    printf 'round %d: hesstrain %.4f ms/step\n' "$r" "$h"
  fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
hm=$(median "${h_all[@]}")
printf 'median    hesstrain %.4f ms/step' "$hm"
if (( have_peer )); then
  tm=$(median "${t_all[@]}"); t1m=$(median "${t1_all[@]}")
  printf '   pytorch %.4f ms/step (2 threads), %.4f (1 thread)   ratio hesstrain/pytorch %.3f, %.3f  (goal <= 1.0, aim 0.5)\n' \
    "$tm" "$t1m" "$(python3 -c "print($hm/$tm)")" "$(python3 -c "print($hm/$t1m)")"
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

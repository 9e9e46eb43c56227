#!/usr/bin/env bash
# Benchmark of issue 20: parameter curvature by backpropagation against one gradient of the same loss.
#
#   bench/param-curvature.sh [ROUNDS] [REPEAT]
#
# For each case and quantity it prints hesstrain's time (the quantity's `seconds` in summary.json:
# the first pass, cold; and with --repeat REPEAT (default 100; the wide net 3) the fastest pass, warm,
# `seconds_min`: with 15 the fastest of conv12's GGN passes was 1.5-4.4 ms, with 200 0.8-0.9 ms), beside one
# gradient of the same loss: hesstrain's (`timings.gradient_seconds`: forward, loss and one autograd
# backward on the same network and points, the least of max(5, REPEAT) after a warm-up) and PyTorch's
# (bench/torch_param_curvature.py --what grad, the least of 20), the ratio = gradient-costs; and,
# where they fit, hesstrain's rows path (--method rows: P products) and PyTorch's one HVP per
# parameter (bench/torch_param_curvature.py --what diag, extrapolated from its first entries).
# ROUNDS (default 2) alternates the sides; the table has each round. Quote `cat /proc/loadavg`.
#
# Cases: conv12 (configs/conv12.yaml: diag, GGN diag, exact trace), digits (configs/digits.yaml,
# its 1,438 training points: diag), wide (50-768-768-512-512-1 tanh, mse, 16 points: diag).
# The peer needs Debian's python3-torch (/usr/bin/python3); without it only hesstrain runs.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
repeat="${2:-100}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
py=/usr/bin/python3
peer=0
if [[ -x "$py" ]] && "$py" -c 'import torch' 2>/dev/null; then peer=1; fi

cat >"$out/wide.yaml" <<'YAML'
name: wide
seed: 0
dtype: float32
data: {generator: "sin(x1) * x2 + x3 * x50", inputs: 50, samples: 16, validation: 0}
model:
  layers:
    - {type: linear, units: 768}
    - {type: tanh}
    - {type: linear, units: 768}
    - {type: tanh}
    - {type: linear, units: 512}
    - {type: tanh}
    - {type: linear, units: 512}
    - {type: tanh}
    - {type: linear, units: 1}
loss: mse
train: {optimizer: adam, lr: 0.001, epochs: 1}
YAML

config() { case "$1" in conv12) echo configs/conv12.yaml ;; digits) echo configs/digits.yaml ;; wide) echo "$out/wide.yaml" ;; esac; }
# quantity seconds, warm seconds, gradient seconds of one hesstrain run
field() { "$py" - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
q = s["quantities"][sys.argv[2]]
print(q["seconds"], q.get("seconds_min", q["seconds"]), s["timings"].get("gradient_seconds", "nan"))
PY
}
run() { # case label quantity extra-args...
  local c="$1" label="$2" q="$3"; shift 3
  rm -rf "$out/$label"
  ./hesstrain inspect-hessian --config "$(config "$c")" --wrt params --of loss --quantity "$q" --threads 1 \
      --out "$out/$label" "$@" >/dev/null 2>"$out/$label.err" || { cat "$out/$label.err" >&2; return 1; }
  field "$out/$label" "${q%%,*}"
}
peer_grad() { [[ $peer == 1 ]] && "$py" bench/torch_param_curvature.py --case "$1" --what grad | awk '/^seconds/ {print $2}' || echo nan; }
peer_diag() { [[ $peer == 1 ]] && "$py" bench/torch_param_curvature.py --case "$1" --what diag --limit "$2" | awk '/^seconds/ {print $2}' || echo nan; }

./hesstrain --version >/dev/null  # build first, outside the timings
echo "load: $(cat /proc/loadavg)"
printf '%-5s %-7s %-11s %10s %10s %11s %11s %8s %8s %10s %12s\n' round case quantity "cold s" "warm s" "grad s" "torch grad" "x grad" "x torch" "rows s" "torch hvp s"
for ((r = 1; r <= rounds; r++)); do
  for spec in "conv12 diag hessian" "conv12 diag ggn" "conv12 trace hessian" "digits diag hessian" "digits diag ggn" "wide diag hessian"; do
    read -r c q cv <<<"$spec"
    # the wide net's pass takes seconds: 3 repeats
    read -r cold warm grad < <(run "$c" "$c-$q-$cv" "$q" --curvature "$cv" --repeat "$([[ $c == wide ]] && echo 3 || echo "$repeat")")
    tg=$(peer_grad "$c")
    rows=n/a; thvp=n/a
    if [[ $r == 1 && $q == diag && $cv == hessian && $c != wide ]]; then
      read -r rows _ _ < <(run "$c" "$c-rows" diag --method rows)
      thvp=$(peer_diag "$c" "$([[ $c == conv12 ]] && echo 1000 || echo 300)")
    fi
    printf '%-5s %-7s %-11s %10.4f %10.4f %11.6f %11.6f %8.2f %8.2f %10s %12s\n' "$r" "$c" "$q-$cv" "$cold" "$warm" "$grad" "$tg" \
        "$("$py" -c "print($warm / $grad)")" "$("$py" -c "print($warm / $tg)")" "$rows" "$thvp"
  done
done
echo "load: $(cat /proc/loadavg)"
echo "(cold: the quantity's seconds, the first pass; warm: the fastest of --repeat $repeat passes of the diagonal alone (wide: 3);"
echo " grad s: hesstrain's gradient of the same loss; x grad = warm / grad s, x torch = warm / torch grad;"
echo " rows s: hesstrain --method rows, P products; torch hvp s: one HVP per parameter, extrapolated from its first entries)"

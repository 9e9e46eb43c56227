#!/usr/bin/env bash
# Benchmark: the cost of the curvature penalty on the digits model (configs/digits.yaml: 64-32-32-10
# tanh MLP, batch 128, Adam). For the Hutchinson estimate with k = 1, 2, 4, 8 probes and for the
# exact penalty, the wall milliseconds per training step (summary.json's wall_ms_per_step of real
# `./hesstrain train` runs: the loop's wall time / steps, evaluation, rows and checkpoints included) divided by that of an unpenalised step (lambda = 0) of the same round.
# Every round runs all variants in turn, so that all see the same machine load; the table shows
# medians over the rounds. Goal: ratio <= 1 + k.
#   bench/penalty-cost.sh [ROUNDS] [EPOCHS] [EXACT_EPOCHS]    (defaults 5, 20, 2)
#   NORM=trace bench/penalty-cost.sh                          (frobenius by default)
# EPOCHS x 12 steps per run (the first tenth, at least 5, is skipped as warm-up); the exact
# penalty (2,080 second derivatives per sample, about 0.5 s a step) runs EXACT_EPOCHS epochs.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"; epochs="${2:-20}"; exact_epochs="${3:-2}"; norm="${NORM:-frobenius}"
config=configs/digits.yaml
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

run() { # $1 = label, then --set overrides; prints the summary's wall_ms_per_step
  local label="$1"; shift
  ./hesstrain train --config "$config" --out "$out/$label" --set penalty.norm="$norm" "$@" \
    >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s.get('wall_ms_per_step') or s['ms_per_step'])" "$out/$label/summary.json"
  rm -rf "${out:?}/$label"
}

./hesstrain --version >/dev/null  # build first, outside the timings
variants=(base k1 k2 k4 k8 exact)
declare -A ms ratio
for r in $(seq 1 "$rounds"); do
  line="round $r:"
  for v in "${variants[@]}"; do
    case "$v" in
      base)  t=$(run "$v" --set train.epochs="$epochs" --set penalty.lambda=0 --set penalty.exact_every=0) ;;
      k*)    t=$(run "$v" --set train.epochs="$epochs" --set penalty.probes="${v#k}" --set penalty.exact_every=0) ;;
      exact) t=$(run "$v" --set train.epochs="$exact_epochs" --set "penalty={lambda: 0.01, norm: $norm}") ;;
    esac
    [[ "$v" == base ]] && b="$t"
    ms[$v]+="$t "
    ratio[$v]+="$(python3 -c "print($t/$b)") "
    line+=$(printf '  %s %.3f' "$v" "$t")
  done
  echo "$line  (ms/step)"
done

median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "norm $norm, $rounds rounds, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-10s %7s %16s %18s %8s\n' method probes "wall ms/step" "ratio to lambda=0" goal
for v in "${variants[@]}"; do
  m=$(median "${ms[$v]}"); q=$(median "${ratio[$v]}")
  case "$v" in
    base)  printf '%-10s %7s %16.3f %18s %8s\n' "lambda=0" - "$m" 1 - ;;
    k*)    k="${v#k}"; printf '%-10s %7s %16.3f %18.2f %8s\n' hutchinson "$k" "$m" "$q" "<= $((1 + k))" ;;
    exact) printf '%-10s %7s %16.3f %18.1f %8s\n' exact - "$m" "$q" - ;;
  esac
done

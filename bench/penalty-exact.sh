#!/usr/bin/env bash
# Benchmark: the EXACT input-Hessian penalty, hesstrain against PyTorch, per case and norm.
# For each case and norm, in one round: hesstrain's median ms per training step (summary.json's
# ms_per_step of a real `./hesstrain train` run with the exact penalty), hesstrain's unpenalised
# step (lambda = 0) of the same round, and the PyTorch peer ../shared/bench/torch_penalty.py with
# both of its recipes (--way nested: autograd.grad with create_graph per output and input; --way
# func: vmap(jacfwd(jacrev))), all with the same thread count. The table shows medians over
# rounds of ms/step and of the per-round ratios: hesstrain / the faster peer recipe (the anchor),
# and hesstrain's exact step / its own unpenalised step.
#   bench/penalty-exact.sh [ROUNDS]                 (default 3)
#   CASES="digits wide" NORMS="trace" bench/penalty-exact.sh 1
#   EXACT=taylor bench/penalty-exact.sh             (hesstrain's Taylor pairs pass instead of its default)
#   WIDE_THREADS=1 CASES=wide bench/penalty-exact.sh (the wide case on 1 thread, both sides)
# Cases (the model sizes of issue 9):
#   sin2pi   2-10-11-12-1 tanh, 500 samples (full batch), mse, 1 thread
#   diabetes 10-32-1 softplus, batch 64, mse, 1 thread (40 epochs of 6 steps: with 6 epochs the
#            median step still carried the JIT's warm-up, 1.84 against 1.26 ms for trace)
#   digits   64-32-32-10 tanh, batch 128, cross-entropy, 1 thread
#   wide     50-768-768-512-512-1 tanh, batch 16, mse, 2 threads (the collapsed-Taylor-mode
#            paper's Laplacian case; trace only by default, as there)
# The peer needs Debian's python3-torch (/usr/bin/python3); without it only hesstrain runs.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
cases="${CASES:-sin2pi diabetes digits wide}"
norms_all="${NORMS:-frobenius trace diagonal}"
peer="${PEER_DIR:-../shared/bench}/torch_penalty.py"
have_peer=0
if [[ -f "$peer" ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_peer=1; fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
java_opts="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmn16m${EXACT:+ -Dhesstrain.exact=$EXACT}"  # the launcher's default flags

cat >"$out/wide.yaml" <<'EOF'
name: wide
seed: 0
dtype: float32
data: {generator: "sin(x1) * x2 + x3 * x50", inputs: 50, samples: 32, validation: 0}
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
train: {optimizer: adam, lr: 0.001, epochs: 6, batch_size: 16}
EOF

# per case: config, hesstrain overrides, threads, peer arguments, peer steps, norms
config() {
  case "$1" in
    sin2pi) echo configs/sin2pi.yaml ;;
    diabetes) echo configs/diabetes.yaml ;;
    digits) echo configs/digits.yaml ;;
    wide) echo "$out/wide.yaml" ;;
  esac
}
overrides() {
  case "$1" in
    sin2pi) echo "--set data.validation=0 --set train.epochs=300 --set train.checkpoint_every=300" ;;
    diabetes) echo "--set train.epochs=40" ;;
    digits) echo "--set train.epochs=3" ;;
    wide) echo "" ;;
  esac
}
threads() { [[ "$1" == wide ]] && echo "${WIDE_THREADS:-2}" || echo 1; }
peer_args() {
  case "$1" in
    sin2pi) echo "--sizes 2,10,11,12,1 --activation tanh --samples 500 --loss mse --steps 100 --warmup 10" ;;
    diabetes) echo "--sizes 10,32,1 --activation softplus --samples 64 --loss mse --steps 200 --warmup 20" ;;
    digits) echo "--sizes 64,32,32,10 --activation tanh --samples 128 --loss cross_entropy --steps 5 --warmup 1" ;;
    wide) echo "--sizes 50,768,768,512,512,1 --activation tanh --samples 16 --loss mse --steps 5 --warmup 1" ;;
  esac
}
norms() { if [[ "$1" == wide && -z "${NORMS:-}" ]]; then echo trace; else echo "$norms_all"; fi; }

hesstrain_ms() { # $1 case, $2 label, then --set overrides; prints the summary's ms_per_step
  local c="$1" label="$2"; shift 2
  # shellcheck disable=SC2046
  HESSTRAIN_JAVA_OPTS="$java_opts" ./hesstrain train --config "$(config "$c")" --out "$out/$label" \
    --threads "$(threads "$c")" $(overrides "$c") "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['ms_per_step'])" "$out/$label/summary.json"
  rm -rf "${out:?}/$label"
}
peer_ms() { # $1 case, $2 norm, $3 way
  # shellcheck disable=SC2046
  /usr/bin/python3 "$peer" $(peer_args "$1") --norm "$2" --way "$3" --threads "$(threads "$1")" --lam 0.01 \
    | awk '/^ms_per_step/ {print $2}'
}
ratio() { python3 -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" "$1" "$2"; }

./hesstrain --version >/dev/null  # build first, outside the timings
echo "load average at the start $(cut -d" " -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
declare -A h base nested func r_anchor r_base
for r in $(seq 1 "$rounds"); do
  for c in $cases; do
    b=$(hesstrain_ms "$c" base --set "penalty={lambda: 0}")
    for n in $(norms "$c"); do
      k="$c/$n"
      t=$(hesstrain_ms "$c" "exact-$n" --set "penalty={lambda: 0.01, norm: $n, method: exact}")
      h[$k]+="$t "; base[$k]+="$b "; r_base[$k]+="$(ratio "$t" "$b") "
      line=$(printf 'round %d  %-9s %-10s hesstrain %10.3f  unpenalised %8.3f' "$r" "$c" "$n" "$t" "$b")
      if (( have_peer )); then
        pn=$(peer_ms "$c" "$n" nested); pf=$(peer_ms "$c" "$n" func)
        nested[$k]+="$pn "; func[$k]+="$pf "
        anchor=$(python3 -c "print(min($pn, $pf))")
        r_anchor[$k]+="$(ratio "$t" "$anchor") "
        line+=$(printf '  nested %10.3f  func %10.3f  ratio %.3f' "$pn" "$pf" "$(ratio "$t" "$anchor")")
      fi
      echo "$line  (ms/step)"
    done
  done
done

median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
goal() { # issue 9's goals: ratio to the faster peer recipe; exact / unpenalised at d = 64
  case "$1" in
    digits/frobenius) echo "<=0.2 <=50" ;; digits/*) echo "<=0.1 <=20" ;;
    wide/trace) echo "<=0.2 -" ;; sin2pi/frobenius) echo "<=0.5 -" ;; diabetes/*) echo "<=0.5 -" ;;
    *) echo "- -" ;;
  esac
}
echo
echo "$rounds rounds, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)${EXACT:+, hesstrain.exact=$EXACT}"
printf '%-9s %-10s %7s %12s %12s %12s %12s %8s %12s %8s\n' case norm threads hesstrain nested func \
  "ratio" goal "exact/plain" goal
for c in $cases; do
  for n in $(norms "$c"); do
    k="$c/$n"; read -r g1 g2 <<<"$(goal "$k")"
    if (( have_peer )); then
      printf '%-9s %-10s %7s %12.3f %12.3f %12.3f %12.3f %8s %12.1f %8s\n' "$c" "$n" "$(threads "$c")" \
        "$(median "${h[$k]}")" "$(median "${nested[$k]}")" "$(median "${func[$k]}")" \
        "$(median "${r_anchor[$k]}")" "$g1" "$(median "${r_base[$k]}")" "$g2"
    else
      printf '%-9s %-10s %7s %12.3f %12s %12s %12s %8s %12.1f %8s\n' "$c" "$n" "$(threads "$c")" \
        "$(median "${h[$k]}")" - - - "$g1" "$(median "${r_base[$k]}")" "$g2"
    fi
  done
done
echo "(ms/step medians over rounds; ratio = hesstrain / the faster of nested and func, per round; exact/plain ="
echo " hesstrain's exact-penalty step / its unpenalised step of the same round)"

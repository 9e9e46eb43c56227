#!/usr/bin/env bash
# The members of bench/sweep-speed.sh (a lambda sweep of M sin2pi members, 500 samples, full batch,
# Adam, exact Frobenius penalty) measured in CPU seconds instead of wall time, for a machine that
# others share: wall time there counts the other processes (at load 10 on 2 cores a process gets a
# fifth of a core), CPU time mostly does not. Each program runs twice, for S1 and S2 steps; the
# difference of its process CPU time (user + sys, JIT and GC threads included) over (S2 - S1) steps
# and M members is its CPU per member-step, start-up excluded:
#   hesstrain sweep (one stacked program), one hesstrain train (a plain run: the cost of each of M
#   separate runs), torch_sweep.py --way loop and --way ensemble at 1 thread.
# The step counts keep the measured work well above the start-up's variation (a JVM's start-up
# costs several CPU seconds, give or take half a second): a plain step is cheap, so train runs longer.
#   bench/sweep-cpu.sh [MEMBERS...]    env: S1, S2 (100, 1100: the sweep), T1, T2 (100, 4100: train),
#   P1, P2 (5, 45: the peer), PEER_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-16 64}"); sizes=(${sizes[*]})
s1="${S1:-100}"; s2="${S2:-1100}"; t1="${T1:-100}"; t2="${T2:-4100}"; p1="${P1:-5}"; p2="${P2:-45}"
peer="${PEER_DIR:-../shared/bench}/torch_sweep.py"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
common=(--config configs/sin2pi.yaml --set data.validation=0)
# process CPU seconds (user + sys) of a command
cpu() { /usr/bin/time -f '%U %S' -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
        awk '{print $1 + $2}' "$out/time"; }
per() { python3 -c "print('%.4f' % (($2 - $1) * 1000 / ($3 * $4)))" "$@"; }
./hesstrain --version >/dev/null
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in "${sizes[@]}"; do
  grid="penalty.lambda=logspace(1e-5,1e-1,$m)"
  a=$(cpu ./hesstrain sweep "${common[@]}" --set train.epochs="$s1" --set train.checkpoint_every="$s1" --grid "$grid" --out "$out/a$m")
  b=$(cpu ./hesstrain sweep "${common[@]}" --set train.epochs="$s2" --set train.checkpoint_every="$s2" --grid "$grid" --out "$out/b$m")
  h=$(per "$a" "$b" $((s2 - s1)) "$m")
  a=$(cpu ./hesstrain train "${common[@]}" --set train.epochs="$t1" --set train.checkpoint_every="$t1" --set penalty.lambda=1e-3 --out "$out/ta$m")
  b=$(cpu ./hesstrain train "${common[@]}" --set train.epochs="$t2" --set train.checkpoint_every="$t2" --set penalty.lambda=1e-3 --out "$out/tb$m")
  t=$(per "$a" "$b" $((t2 - t1)) 1)
  printf '%d members: CPU ms per member-step\n' "$m"
  printf '  hesstrain sweep (stacked)  %8.4f\n' "$h"
  printf '  hesstrain train (plain)    %8.4f   ratio %.3f (goal <= 0.3)\n' "$t" "$(python3 -c "print($h / $t)")"
  best=""
  if [[ -f "$peer" ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    for way in loop ensemble; do
      a=$(cpu /usr/bin/python3 "$peer" --members "$m" --way "$way" --steps "$p1" --warmup 3 --threads 1)
      b=$(cpu /usr/bin/python3 "$peer" --members "$m" --way "$way" --steps "$p2" --warmup 3 --threads 1)
      p=$(per "$a" "$b" $((p2 - p1)) "$m")
      printf '  torch_sweep --way %-8s %8.4f   ratio %.3f\n' "$way" "$p" "$(python3 -c "print($h / $p)")"
      best=$(python3 -c "print(min(float(x) for x in ['$best', '$p'] if x))")
    done
    printf '  hesstrain / faster peer recipe %.3f (goal <= 0.25)\n' "$(python3 -c "print($h / $best)")"
  fi
  echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done

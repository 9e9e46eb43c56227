#!/usr/bin/env bash
# Benchmark: a λ sweep of M sin2pi members (2-10-11-12-1 tanh MLP, 500 samples, full batch, Adam,
# exact Frobenius penalty, λ = logspace(1e-5, 1e-1, M)) in one `hesstrain sweep` (each structure
# group one stacked program), beside ../shared/bench/torch_sweep.py --way loop and --way ensemble
# in the same run, and beside M separate `hesstrain train` runs of the same members.
# Prints wall ms per member-step for each: hesstrain's from the members' summary.json
# (wall_ms_per_step: the stacked loop's wall time / steps / M, evaluation, rows and checkpoints
# included; the median stacked step / M beside it, labelled), the peer's from two runs of its
# process at PEER_STEPS and 3 x PEER_STEPS steps (the difference of their wall times, so start-up,
# imports and warm-up cancel; its own median beside it, labelled); the ratios against the goals
# (<= 0.25x the faster peer recipe at its faster thread count, <= 0.3x the separate runs), and the
# whole-sweep wall times with JVM start-up against the peer's whole process (goal <= 0.5x). Then MEMSTEPS steps of the
# first size for memory (resident MB of the stacked program at step 2,000 and at the end), with
# the default checkpoint cadence (train.checkpoint_every 10, at most one a second) as a real run
# has: each checkpoint also saves the metrics.csv rows held since the last one.
#   bench/sweep-speed.sh [MEMBERS...]      env: STEPS (500), PEER_STEPS (100), MEMSTEPS (20000; 0 skips), MEMMEMBERS (the
#   first size), SEPARATE (how many of the M separate train runs to time, evenly spread; default all:
#   their whole wall time is then scaled to M and marked so), COMPARE (1; 0 runs only the memory part), PEER_DIR
# The peer needs Debian's python3-torch (apt-get install -y python3-torch); both at their defaults
# of threads (hesstrain 1, the peer 2) and the peer again at 1 thread.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-16 64}"); sizes=(${sizes[*]})
steps="${STEPS:-500}"; peer_steps="${PEER_STEPS:-100}"; memsteps="${MEMSTEPS:-20000}"; compare="${COMPARE:-1}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
peer="${PEER_DIR:-../shared/bench}/torch_sweep.py"
have_peer=0
if [[ -f "$peer" ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_peer=1; fi
common=(--config configs/sin2pi.yaml --set train.epochs="$steps" --set train.checkpoint_every="$steps" --set data.validation=0)
py() { python3 -c "$1"; }
now() { date +%s.%N; }

./hesstrain --version >/dev/null  # build first, outside the timings
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load average at the start: $(load)"
for m in "${sizes[@]}"; do
  (( compare )) || break
  t0=$(now)
  ./hesstrain sweep "${common[@]}" --grid "penalty.lambda=logspace(1e-5,1e-1,$m)" --out "$out/sweep-$m" \
    >"$out/sweep-$m.out" 2>"$out/sweep-$m.err" || { cat "$out/sweep-$m.err" >&2; exit 1; }
  t1=$(now)
  read -r h hmed <<<"$(python3 - "$out/sweep-$m" <<'PY'
import glob, json, sys
s = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/members/*/summary.json")]
# per member-step, the same for every member: the stacked loop's wall time, and its median step
print(sum(x.get("wall_ms_per_step") or float("nan") for x in s) / len(s), sum(x["ms_per_step"] for x in s) / len(s))
PY
)"
  sweep_wall=$(py "print($t1 - $t0)")
  # the same members as separate train runs, one JVM each
  lams=$(grep -o '"values" : \[[^]]*\]' "$out/sweep-$m/sweep.json" | head -1 | tr -d '"[]' | sed 's/values : //; s/,/ /g')
  all=($lams); k="${SEPARATE:-$m}"; (( k > m )) && k=$m; pick=()
  for ((j = 0; j < k; j++)); do pick+=("${all[$(( j * m / k ))]}"); done
  t0=$(now); sep=()
  for l in "${pick[@]}"; do
    ./hesstrain train "${common[@]}" --set penalty.lambda="$l" --out "$out/train-$m-$l" >/dev/null 2>"$out/err" \
      || { cat "$out/err" >&2; exit 1; }
    sep+=("$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s.get('wall_ms_per_step') or s['ms_per_step'])" "$out/train-$m-$l/summary.json")")
  done
  t1=$(now)
  sep_wall=$(py "print(($t1 - $t0) * $m / $k)")
  scaled=""; (( k < m )) && scaled=" (scaled from $k runs)"
  s=$(py "print(sum([$(IFS=,; echo "${sep[*]}")]) / ${#sep[@]})")
  printf '%d members, %d steps\n' "$m" "$steps"
  printf '  hesstrain sweep (stacked)   %8.4f wall ms per member-step (median step %.4f)   whole sweep %7.1f s with JVM start-up   (%s)\n' \
    "$h" "$hmed" "$sweep_wall" "$(grep -o 'completed before; .*' "$out/sweep-$m.err" | sed 's/completed before; //')"
  printf '  %d x hesstrain train       %8.4f wall ms per member-step   all runs    %7.1f s with JVM start-ups%s   ratio %.3f (goal <= 0.3)\n' \
    "$m" "$s" "$sep_wall" "$scaled" "$(py "print($h/$s)")"
  if (( have_peer )); then
    peer_wall() { # $1 way, $2 threads: "wall ms per member-step, median, whole process s at $steps steps (estimated)"
      local a0 a1 b0 b1 med
      a0=$(now); med=$(/usr/bin/python3 "$peer" --members "$m" --way "$1" --steps "$peer_steps" --warmup 10 --threads "$2" \
        | awk '/^ms_per_member_step/ {print $2}'); a1=$(now)
      b0=$(now); /usr/bin/python3 "$peer" --members "$m" --way "$1" --steps $((3 * peer_steps)) --warmup 10 --threads "$2" >/dev/null; b1=$(now)
      py "w = (($b1 - $b0) - ($a1 - $a0)) / (2 * $peer_steps * $m) * 1e3; s = ($a1 - $a0) - $peer_steps * $m * w / 1e3; print(w, $med, s + $steps * $m * w / 1e3)"
    }
    best=1e9; best_whole=1e9
    for way in loop ensemble; do
      read -r w2 med2 whole2 <<<"$(peer_wall "$way" 2)"
      read -r w1 med1 whole1 <<<"$(peer_wall "$way" 1)"
      printf '  torch_sweep --way %-9s %8.4f wall ms per member-step (2 threads; median step %.4f), %.4f (1 thread; median %.4f)   ratio %.3f, %.3f\n' \
        "$way" "$w2" "$med2" "$w1" "$med1" "$(py "print($h/$w2)")" "$(py "print($h/$w1)")"
      best=$(py "print(min($best, $w2, $w1))"); best_whole=$(py "print(min($best_whole, $whole2, $whole1))")
    done
    printf '  hesstrain / faster peer recipe, wall per member-step while training %.3f (goal <= 0.25)\n' "$(py "print($h/$best)")"
    printf '  whole sweep with JVM start-up %.1f s / the faster peer process for %d steps (estimated) %.1f s = %.3f (goal <= 0.5)\n' \
      "$sweep_wall" "$steps" "$best_whole" "$(py "print($sweep_wall/$best_whole)")"
    printf '  load average after %d members: %s\n' "$m" "$(load)"
  else
    printf '  pytorch peer not run: needs %s and /usr/bin/python3 with torch\n' "$peer"
  fi
done

if (( memsteps > 0 )); then
  m="${MEMMEMBERS:-${sizes[0]}}"
  ./hesstrain sweep --config configs/sin2pi.yaml --set train.epochs="$memsteps" \
    --set data.validation=0 --grid "penalty.lambda=logspace(1e-5,1e-1,$m)" --out "$out/mem" >/dev/null 2>"$out/err" \
    || { cat "$out/err" >&2; exit 1; }
  python3 - "$out/mem" "$m" <<'PY'
import glob, json, sys
s = json.load(open(sorted(glob.glob(sys.argv[1] + "/members/*/summary.json"))[0]))
r = s["resident_mb_at_step"]; last = max(r, key=int); m = int(sys.argv[2])
print("memory    %d members stacked: resident MB at step 2000: %.1f, at step %s: %.1f, growth %.1f MB (%.2f MB per member)"
      % (m, r["2000"], last, r[last], r[last] - r["2000"], (r[last] - r["2000"]) / m))
PY
  echo "load average at the end: $(load)"
fi

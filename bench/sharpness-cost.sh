#!/usr/bin/env bash
# Benchmark of issue 20 (Deliver 5): the training time with `monitor: {sharpness_every: K}` over the
# time without, for sin2pi (configs/sin2pi.yaml: one full-batch step per epoch) and digits
# (configs/digits.yaml: 1,000 of its training points measured, batch 128).
#
#   bench/sharpness-cost.sh [ROUNDS] [K] [CASES]
#
# ROUNDS (default 3) alternates, per case, a run without the monitor, one with
# `--set monitor.sharpness_every=K` (default 10) measuring on a thread of its own while training
# goes on (HESSTRAIN_SHARPNESS_THREAD=1: what a machine with a core beside PyTorch's one intra-op
# thread gets by default) and one measuring on the loop's thread (HESSTRAIN_SHARPNESS_THREAD=0);
# the training time is summary.json's
# `wall_ms_per_step` × `steps` (the loop's wall time: evaluation, metrics rows, checkpoints and the
# measurements included), and the whole command (JVM start, data, plots) is printed beside it.
# Each line gives the three runs, the ratios with/without, and the measurements' own seconds (the sum of
# the `s` of train.log's sharpness lines) with their count and HVPs. The last lines give, per case,
# the median ratio over the rounds. CASES: a comma list (default sin2pi,digits). Quote
# `cat /proc/loadavg`: on a loaded machine the loop times of single runs vary by more than the
# measurements take, so read the medians and the measurements' own seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
k="${2:-10}"
cases="${3:-sin2pi,digits}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
./hesstrain --version >/dev/null # build outside the timings

loop_seconds() { python3 - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
print(f"{s['wall_ms_per_step'] * s['steps'] / 1000:.3f}")
PY
}
# measurements, their seconds summed, HVPs per measurement (from train.log)
measurements() { python3 - "$1" <<'PY'
import re, sys
lines = [l for l in open(sys.argv[1] + "/train.log") if ": sharpness " in l]
sec = [float(m.group(1)) for l in lines for m in [re.search(r", ([0-9.]+) s,", l)] if m]
hv = [int(m.group(1)) for l in lines for m in [re.search(r"(\d+) HVPs", l)] if m]
print(len(lines), f"{sum(sec):.3f}", f"{sum(hv) / max(1, len(hv)):.1f}")
PY
}
train() { # case name extra-args...
  local c="$1" name="$2"; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  ./hesstrain train --config "configs/$c.yaml" --out "$out/$name" "$@" >/dev/null 2>"$out/$name.err" \
    || { cat "$out/$name.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$(loop_seconds "$out/$name") $(python3 -c "print(f'{$t1 - $t0:.2f}')")"
}

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg), sharpness_every=$k, $rounds rounds"
declare -A ratios sratios
IFS=',' read -ra list <<<"$cases"
for r in $(seq 1 "$rounds"); do
  for c in "${list[@]}"; do
    read -r off off_whole <<<"$(train "$c" "$c-off-$r")"
    read -r on on_whole <<<"$(HESSTRAIN_SHARPNESS_THREAD=1 train "$c" "$c-on-$r" --set "monitor.sharpness_every=$k")"
    read -r sync sync_whole <<<"$(HESSTRAIN_SHARPNESS_THREAD=0 train "$c" "$c-sync-$r" --set "monitor.sharpness_every=$k")"
    read -r count msec hvps <<<"$(measurements "$out/$c-sync-$r")"
    ratio=$(python3 -c "print(f'{$on / $off:.3f}')")
    sratio=$(python3 -c "print(f'{$sync / $off:.3f}')")
    ratios[$c]="${ratios[$c]:-} $ratio"
    sratios[$c]="${sratios[$c]:-} $sratio"
    echo "round $r $c: loop without ${off} s, with ${on} s (own thread) / ${sync} s (loop's thread), ratios ${ratio} / ${sratio}" \
      "(whole command ${off_whole} / ${on_whole} / ${sync_whole} s); $count measurements, ${msec} s of their own, ${hvps} HVPs each"
    rm -rf "$out/$c-off-$r" "$out/$c-on-$r" "$out/$c-sync-$r"
  done
done
for c in "${list[@]}"; do
  med() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
  echo "$c: median ratio with/without $(med ${ratios[$c]}) on its own thread (rounds:${ratios[$c]})," \
    "$(med ${sratios[$c]}) on the loop's thread (rounds:${sratios[$c]})"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

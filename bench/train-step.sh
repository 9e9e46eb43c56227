#!/usr/bin/env bash
# Benchmark: ms per training step of the sin2pi model (500 samples, full batch, exact input-Hessian
# penalty) in hesstrain, beside the PyTorch peer (../shared/bench/torch_train_step.py) in the same
# run, and resident memory at step 2,000 and at the last step.
#   bench/train-step.sh [STEPS]     (default 20000; the peer runs min(STEPS, 2000) steps)
# Needs Debian's python3-torch for the peer (apt-get install -y python3-torch); without it only
# hesstrain's figures are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-20000}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
./hesstrain train --config configs/sin2pi.yaml --out "$out/run" \
  --set train.epochs="$steps" --set train.checkpoint_every="$steps" --set data.validation=0 >/dev/null 2>"$out/err" \
  || { cat "$out/err" >&2; exit 1; }
read -r ms rss2k rssend <<<"$(python3 - "$out/run/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
r = s["resident_mb_at_step"]
last = r[max(r, key=int)]
print(s["ms_per_step"], r.get("2000", float("nan")), last)
PY
)"
printf 'hesstrain  ms_per_step %.4f  (%s steps, median of steady-state steps)\n' "$ms" "$steps"
printf 'hesstrain  resident MB at step 2000: %.1f, at step %s: %.1f, growth %.1f MB\n' "$rss2k" "$steps" "$rssend" "$(python3 -c "print($rssend-$rss2k)")"
peer=../shared/bench/torch_train_step.py
if [[ -f "$peer" ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  peer_steps=$(( steps < 2000 ? steps : 2000 ))
  torch_ms=$(/usr/bin/python3 "$peer" --steps "$peer_steps" --warmup 100 --threads 2 | awk '/^ms_per_step/ {print $2}')
  printf 'pytorch    ms_per_step %.4f  (%s steps, torch.autograd.grad create_graph recipe)\n' "$torch_ms" "$peer_steps"
  python3 -c "print('ratio      hesstrain / pytorch = %.3f  (goal <= 1.0, aim 0.5)' % ($ms / $torch_ms))"
else
  echo "pytorch    peer not run: needs $peer and /usr/bin/python3 with torch (apt-get install -y python3-torch)"
fi

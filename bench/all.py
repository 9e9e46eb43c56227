#!/usr/bin/env python3
"""Every headline benchmark of hesstrain against its PyTorch peer, in one run, on a budget of about
10 minutes on the 2-core reference machine; prints the README's speed table (Markdown) at the end.

Called by bench/all.sh (which builds first). Standard library only; the peers run under
/usr/bin/python3 with Debian's python3-torch (PEER_DIR, default ../shared/bench).

What is timed is what the user waits for:
- hesstrain: summary.json's `wall_ms_per_step`, the training wall time divided by the steps
  (evaluation, metrics rows and checkpoints included), per member-step for a sweep; and the whole
  command with the JVM's start where a row says "whole command".
- the peer: the figure its script prints (its training loop, which evaluates nothing), and the
  whole process with Python's start and `import torch` where a row says "whole command".
Each round runs hesstrain, then every peer recipe and thread count, so both see the same load;
a row's ratio is the median over rounds of hesstrain / the faster peer recipe of that round.
"""
import json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.environ.get("PEER_DIR", os.path.join(ROOT, "..", "shared", "bench"))
PY = "/usr/bin/python3"
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
OUT = tempfile.mkdtemp(prefix="hesstrain-bench-")
HESSTRAIN = os.path.join(ROOT, "hesstrain")


def have_peer():
    return os.path.isfile(os.path.join(PEER, "torch_sweep.py")) and subprocess.run(
        [PY, "-c", "import torch"], capture_output=True).returncode == 0


def run(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout, dt


def peer(script, *args):
    """(the figure the peer prints on its last line, the whole process's wall seconds)"""
    out, dt = run([PY, os.path.join(PEER, script), *map(str, args)])
    return float(out.strip().splitlines()[-1].split()[-1]), dt


def summaries(run_dir):
    d = os.path.join(run_dir, "members")
    dirs = ([os.path.join(d, m) for m in sorted(os.listdir(d)) if os.path.isdir(os.path.join(d, m))]
            if os.path.isdir(d) else [run_dir])
    return [json.load(open(os.path.join(x, "summary.json"))) for x in dirs]


def wall(s):
    if "wall_ms_per_step" not in s:
        sys.exit("bench: summary.json has no wall_ms_per_step (an older hesstrain?)")
    return s["wall_ms_per_step"]


def train(name, config, *sets, sweep=None):
    out = os.path.join(OUT, f"{name}-{time.time_ns()}")
    cmd = [HESSTRAIN, "sweep" if sweep else "train", "--config", config, "--out", out]
    for s in sets:
        cmd += ["--set", s]
    for g in sweep or []:
        cmd += ["--grid", g]
    _, dt = run(cmd)
    s = summaries(out)
    return statistics.mean(wall(x) for x in s), dt, s


rows = []  # (case, hesstrain figure, peer figure, ratios over rounds, command)


def row(case, unit, h, p, ratios, command):
    rows.append((case, f"{statistics.median(h):.3g} {unit}", f"{statistics.median(p):.3g} {unit}",
                 statistics.median(ratios), len(ratios), command))
    print(f"  -> {case}: hesstrain {statistics.median(h):.4g}, peer {statistics.median(p):.4g}, "
          f"ratio {statistics.median(ratios):.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)})", flush=True)


def plain_sin2pi():
    steps = 2000
    h, p, r = [], [], []
    for i in range(ROUNDS):
        w, _, _ = train("sin2pi", "configs/sin2pi.yaml", f"train.epochs={steps}")
        peers = [peer("torch_train_step.py", "--steps", steps, "--threads", t)[0] for t in (1, 2)]
        h.append(w); p.append(min(peers)); r.append(w / min(peers))
        print(f"round {i}: sin2pi plain hesstrain {w:.3f} ms/step wall, torch_train_step 1/2 threads "
              f"{peers[0]:.3f}/{peers[1]:.3f}", flush=True)
    row("sin2pi, one run (2-10-11-12-1 tanh, 500 points, exact Frobenius)", "ms/step", h, p, r,
        f"train --config configs/sin2pi.yaml --set train.epochs={steps}; torch_train_step.py --threads 1|2")


def sweep(members, steps, whole):
    h, p, r, hw, pw, rw = [], [], [], [], [], []
    grid = [f"penalty.lambda=logspace(1e-5,1e-1,{members})"]
    for i in range(ROUNDS if members <= 16 else 1):
        w, dt, _ = train(f"sweep{members}", "configs/sin2pi.yaml", f"train.epochs={steps}",
                         "data.validation=0", sweep=grid)
        recipes = {}
        for way, t in (("ensemble", 1), ("ensemble", 2), ("loop", 1)):
            recipes[(way, t)] = peer("torch_sweep.py", "--members", members, "--steps", steps,
                                     "--way", way, "--threads", t)
        best = min(recipes, key=lambda k: recipes[k][0])
        h.append(w); p.append(recipes[best][0]); r.append(w / recipes[best][0])
        hw.append(dt); pw.append(recipes[best][1]); rw.append(dt / recipes[best][1])
        print(f"round {i}: {members} members, {steps} steps: hesstrain {w:.3f} ms/member-step wall, whole command "
              f"{dt:.1f} s; peer " + ", ".join(f"{k[0]}/{k[1]}t {v[0]:.3f} ms ({v[1]:.1f} s)"
                                               for k, v in recipes.items()), flush=True)
    cmd = (f"sweep --config configs/sin2pi.yaml --grid '{grid[0]}' --set train.epochs={steps} "
           f"--set data.validation=0; torch_sweep.py --members {members} --way ensemble|loop")
    row(f"λ sweep, {members} sin2pi members, per member-step", "ms", h, p, r, cmd)
    if whole:
        row(f"λ sweep, {members} sin2pi members, whole command with start-up", "s", hw, pw, rw, cmd)


def penalty_digits():
    h, p, r = [], [], []
    for i in range(ROUNDS):
        w, _, _ = train("digits", "configs/digits.yaml", "penalty={lambda: 0.01, norm: frobenius, method: exact}",
                        "train.epochs=3")
        peers = [peer("torch_penalty.py", "--sizes", "64,32,32,10", "--activation", "tanh", "--samples", 128,
                      "--loss", "cross_entropy", "--norm", "frobenius", "--way", way, "--steps", 5,
                      "--warmup", 1, "--threads", 1)[0] for way in ("nested", "func")]
        h.append(w); p.append(min(peers)); r.append(w / min(peers))
        print(f"round {i}: digits exact frobenius hesstrain {w:.3f} ms/step wall, peer nested/func "
              f"{peers[0]:.3f}/{peers[1]:.3f}", flush=True)
    row("digits (64-32-32-10 tanh, batch 128, exact Frobenius)", "ms/step", h, p, r,
        "train --config configs/digits.yaml --set 'penalty={lambda: 0.01, norm: frobenius, method: exact}'; torch_penalty.py --way nested|func")


def param_curvature():
    script = os.path.join(ROOT, "bench", "param-curvature.sh")
    if not os.path.isfile(script):
        return
    # one round, 100 repeats (the wide net: 3): with 15 the fastest pass is not yet warm (conv12 GGN 1.5-4.4 against 0.8-0.9 ms)
    out, _ = run(["bash", script, "1", "100"], env={**os.environ, "PEER_DIR": PEER})
    print(out, flush=True)


def sharpness_cost():
    """Issue 20: training time with monitor.sharpness_every=10 over without (sin2pi, digits), one round."""
    script = os.path.join(ROOT, "bench", "sharpness-cost.sh")
    if not os.path.isfile(script):
        return
    out, _ = run(["bash", script, "1", "10"])
    print(out, flush=True)


if __name__ == "__main__":
    if not have_peer():
        sys.exit(f"bench: the PyTorch peers need {PEER} and {PY} with torch (apt-get install -y python3-torch)")
    print(f"load average at the start {open('/proc/loadavg').read().split()[:3]}, "
          f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, {ROUNDS} rounds", flush=True)
    t0 = time.time()
    plain_sin2pi()
    sweep(16, 1000, whole=True)
    sweep(64, 300, whole=False)
    penalty_digits()
    param_curvature()
    sharpness_cost()
    print(f"\n{time.time() - t0:.0f} s, load average at the end {open('/proc/loadavg').read().split()[:3]}\n")
    print("| case | hesstrain | PyTorch (faster recipe) | ratio | rounds |")
    print("| --- | --- | --- | --- | --- |")
    for case, h, p, ratio, n, _ in rows:
        print(f"| {case} | {h} | {p} | {ratio:.2f} | {n} |")
    print()
    for case, *_, command in rows:
        print(f"- {case}: {command}")

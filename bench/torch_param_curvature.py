#!/usr/bin/env python3
"""Peer benchmark for bench/param-curvature.sh: in PyTorch, on the cases of issue 20,

  --what grad   one gradient of the loss w.r.t. all parameters (forward, loss, backward): the unit
                of "gradient-costs"; prints `seconds <min over --rounds, after one warm-up>`
  --what diag   the exact diagonal of the loss Hessian by the usual recipe, one Hessian-vector
                product per parameter (torch.autograd.grad with create_graph, then one more grad
                per unit vector); prints `seconds <float>` (--limit N: only the first N entries,
                and the figure scaled to all P)

Cases (shapes as hesstrain's configs; data random, which does not change the cost):
  conv12  Conv2d(1,32,3,1,1) -> flatten -> Linear(4608,5), cross-entropy, 8 images 12x12
  digits  64-32-32-10 tanh, cross-entropy, 1438 points (digits' training split)
  wide    50-768-768-512-512-1 tanh, mse, 16 points
Needs Debian's python3-torch; run with /usr/bin/python3.
"""
import argparse
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--case", choices=["conv12", "digits", "wide"], required=True)
p.add_argument("--what", choices=["grad", "diag"], default="grad")
p.add_argument("--rounds", type=int, default=20)
p.add_argument("--limit", type=int, default=0)
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
torch.manual_seed(0)
torch.set_num_threads(a.threads)


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


if a.case == "conv12":
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, 1, 1), torch.nn.Flatten(), torch.nn.Linear(4608, 5))
    x, y = torch.randn(8, 1, 12, 12), torch.randint(0, 5, (8,))
    loss_fn = F.cross_entropy
elif a.case == "digits":
    net = mlp([64, 32, 32, 10])
    x, y = torch.randn(1438, 64), torch.randint(0, 10, (1438,))
    loss_fn = F.cross_entropy
else:
    net = mlp([50, 768, 768, 512, 512, 1])
    x, y = torch.randn(16, 50), torch.randn(16, 1)
    loss_fn = F.mse_loss
params = list(net.parameters())
P = sum(q.numel() for q in params)

if a.what == "grad":
    best = float("inf")
    for r in range(a.rounds + 1):
        t0 = time.perf_counter()
        g = torch.autograd.grad(loss_fn(net(x), y), params)
        dt = time.perf_counter() - t0
        if r > 0:
            best = min(best, dt)
    print(f"parameters {P}")
    print(f"seconds {best:.6g}")
else:
    t0 = time.perf_counter()
    grads = torch.autograd.grad(loss_fn(net(x), y), params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    count = a.limit if a.limit > 0 else P
    diag = torch.empty(count)
    for i in range(count):
        row = torch.autograd.grad(flat[i], params, retain_graph=True, allow_unused=True)
        at, rest = 0, i
        for q, h in zip(params, row):
            if rest < q.numel():
                diag[i] = 0.0 if h is None else h.reshape(-1)[rest]
                break
            rest -= q.numel()
    dt = time.perf_counter() - t0
    print(f"parameters {P} entries {count}")
    print(f"seconds {dt * P / count:.6g}")

#!/usr/bin/env python3
"""Cross-check of `hesstrain inspect-hessian --wrt params` against PyTorch, on the same weights and data.

    /usr/bin/python3 bench/torch_crosscheck.py RUN_DIR INSPECT_DIR [--rows N]

RUN_DIR is a run directory (spec.yaml, model.safetensors, data.npz); INSPECT_DIR the output of
`hesstrain inspect-hessian --run RUN_DIR --wrt params --of loss --quantity full [--rows N]`. The script
rebuilds the spec's torch.nn.Sequential (linear, conv2d, flatten, log_softmax and the activations),
loads model.safetensors into it with load_state_dict (the safetensors format is read with numpy, so
the `safetensors` package is not needed), takes x_train/y_train from data.npz, computes the first
rows of the loss Hessian by torch.autograd.grad twice (in float64), and compares them with
hessian.npy, block by block as layout.json names them. It prints the largest absolute and relative
differences and exits 1 if the relative difference exceeds 1e-4 (hessian.npy is float32).
Needs Debian's python3-torch and python3-yaml.
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch
import yaml

p = argparse.ArgumentParser()
p.add_argument("run")
p.add_argument("inspect")
p.add_argument("--rows", type=int, default=200)
a = p.parse_args()

spec = yaml.safe_load(open(f"{a.run}/spec.yaml"))


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    dtypes = {"F32": np.float32, "F64": np.float64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b0, b1 = info["data_offsets"]
        arr = np.frombuffer(raw[8 + n + b0:8 + n + b1], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.tensor(arr.astype(np.float64))
    return out


acts = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "softplus": torch.nn.Softplus, "gelu": torch.nn.GELU,
        "silu": torch.nn.SiLU, "relu": torch.nn.ReLU, "identity": torch.nn.Identity}


class Sin(torch.nn.Module):
    def forward(self, x):
        return torch.sin(x)


data = np.load(f"{a.run}/data.npz")
x = torch.tensor(data["x_train"], dtype=torch.float64)
y = torch.tensor(data["y_train"], dtype=torch.float64)
shape = spec["model"].get("input_shape")
if shape:
    x = x.reshape([x.shape[0]] + shape)
layers = []
current = list(x.shape[1:])
for layer in spec["model"]["layers"]:
    t = layer["type"]
    if t == "linear":
        layers.append(torch.nn.Linear(int(np.prod(current)), layer["units"], bias=layer.get("bias", True)))
        current = [layer["units"]]
    elif t == "conv2d":
        conv = torch.nn.Conv2d(current[0], layer["filters"], layer["kernel"], layer.get("stride", 1),
                               layer.get("padding", 0), bias=layer.get("bias", True))
        layers.append(conv)
        with torch.no_grad():
            current = list(conv(torch.zeros([1] + current)).shape[1:])
    elif t == "flatten":
        layers.append(torch.nn.Flatten())
        current = [int(np.prod(current))]
    elif t == "log_softmax":
        layers.append(torch.nn.LogSoftmax(dim=1))
    elif t == "sin":
        layers.append(Sin())
    else:
        layers.append(acts[t]())
net = torch.nn.Sequential(*layers).double()
net.load_state_dict(read_safetensors(f"{a.run}/model.safetensors"))
names = [n for n, _ in net.named_parameters()]
params = [q.detach().clone().requires_grad_(True) for q in net.parameters()]
layout = json.load(open(f"{a.inspect}/layout.json"))
assert [b["name"] for b in layout["blocks"]] == names, (layout["blocks"], names)


def loss_of(ps):
    out = torch.func.functional_call(net, dict(zip(names, ps)), (x,)) if hasattr(torch, "func") else None
    if out is None:
        from torch.nn.utils import stateless
        out = stateless.functional_call(net, dict(zip(names, ps)), (x,))
    kind = spec.get("loss", "mse")
    if kind == "mse":
        return torch.nn.functional.mse_loss(out, y.reshape(out.shape))
    labels = y.reshape(-1).long()
    if kind == "cross_entropy":
        return torch.nn.functional.cross_entropy(out, labels)
    return torch.nn.functional.nll_loss(out, labels)


g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss_of(params), params, create_graph=True)])
h = np.load(f"{a.inspect}/hessian.npy", mmap_mode="r")
rows = min(a.rows, h.shape[0])
worst_abs = 0.0
scale = 0.0
for i in range(rows):
    ref = torch.cat([t.reshape(-1) for t in torch.autograd.grad(g[i], params, retain_graph=True)]).numpy()
    worst_abs = max(worst_abs, float(np.max(np.abs(ref - h[i]))))
    scale = max(scale, float(np.max(np.abs(ref))))
rel = worst_abs / scale if scale > 0 else worst_abs
print(f"torch {torch.__version__}: {rows} rows of {h.shape[1]}, max |hesstrain - torch| {worst_abs:.3e}, "
      f"max |H| {scale:.3e}, relative {rel:.3e}")
sys.exit(0 if rel <= 1e-4 else 1)

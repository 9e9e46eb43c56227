#!/usr/bin/env python3
"""PredictCommandTest's cross-check: a run's model rebuilt as torch.nn.Sequential, model.safetensors
loaded with load_state_dict (read with numpy, as bench/torch_crosscheck.py reads it), evaluated at
POINTS.npy in float64; prints JSON: the outputs [N, O], and per point sqrt(sum_o |H_o|_F^2) and the
traces tr H_o [N, O] of the input Hessians by torch.autograd.functional.hessian.

    python3 torch_predict.py RUN_DIR POINTS.npy
"""
import json
import struct
import sys

import numpy as np
import torch
import yaml

run, points = sys.argv[1], sys.argv[2]
spec = yaml.safe_load(open(f"{run}/spec.yaml"))
raw = open(f"{run}/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
dtypes = {"F32": np.float32, "F64": np.float64}
state = {}
for name, info in header.items():
    if name == "__metadata__":
        continue
    b0, b1 = info["data_offsets"]
    arr = np.frombuffer(raw[8 + n + b0:8 + n + b1], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    state[name] = torch.tensor(arr.astype(np.float64))

acts = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "softplus": torch.nn.Softplus, "silu": torch.nn.SiLU,
        "identity": torch.nn.Identity}
layers = []
width = np.load(points).shape[1]
for i, l in enumerate(spec["model"]["layers"]):
    t = l["type"]
    if t == "linear":
        layers.append(torch.nn.Linear(width, l["units"], bias=l.get("bias", True)))
        width = l["units"]
    elif t == "log_softmax":
        layers.append(torch.nn.LogSoftmax(dim=-1))
    else:
        layers.append(acts[t]())
net = torch.nn.Sequential(*layers).double()
net.load_state_dict(state)
x = torch.tensor(np.load(points), dtype=torch.float64)
with torch.no_grad():
    y = net(x)
fro, trace = [], []
for p in x:
    h = torch.stack([torch.autograd.functional.hessian(lambda v, o=o: net(v.unsqueeze(0))[0, o], p)
                     for o in range(y.shape[1])])  # [O, d, d]
    fro.append(float(h.pow(2).sum().sqrt()))
    trace.append([float(torch.diagonal(h[o]).sum()) for o in range(h.shape[0])])
print(json.dumps({"y": y.tolist(), "fro": fro, "trace": trace}))

#!/usr/bin/env python3
"""Writes the small datasets of the inspect-hessian configs (seeded, reproducible).

Run from the project root with Debian's Python and numpy:  /usr/bin/python3 datasets/make_inspect_datasets.py

  datasets/conv12.npz           x [8, 1, 12, 12] float64 (standard normal), y [8] int64 labels 0..4
  datasets/linear-relu-mse.csv  3 rows: inputs x1..x5, targets y1..y4 (a fixed linear map, relu, noise)
  datasets/mlp-nll.csv          60 rows: inputs x1..x5 in [-1, 1], label 0..2 (argmax of 3 linear scores)
"""
import numpy as np

rng = np.random.default_rng(20261125)

# conv12: 8 images of 12x12 and one label per image, every class present
x = rng.standard_normal((8, 1, 12, 12))
y = np.array([0, 1, 2, 3, 4, 0, 1, 2], dtype=np.int64)
np.savez("datasets/conv12.npz", x=x, y=y)

# linear-relu-mse: 3 samples, 5 inputs, 4 targets
x = rng.uniform(-1.0, 1.0, size=(3, 5))
w = rng.standard_normal((4, 5))
t = np.maximum(x @ w.T, 0.0) + 0.1 * rng.standard_normal((3, 4))
with open("datasets/linear-relu-mse.csv", "w") as f:
    f.write("x1,x2,x3,x4,x5,y1,y2,y3,y4\n")
    for a, b in zip(x, t):
        f.write(",".join(repr(float(v)) for v in list(a) + list(b)) + "\n")

# mlp-nll: 60 samples, 5 inputs, 3 classes
x = rng.uniform(-1.0, 1.0, size=(60, 5))
w = rng.standard_normal((3, 5))
labels = np.argmax(x @ w.T + 0.3 * rng.standard_normal((60, 3)), axis=1)
with open("datasets/mlp-nll.csv", "w") as f:
    f.write("x1,x2,x3,x4,x5,label\n")
    for a, l in zip(x, labels):
        f.write(",".join(repr(float(v)) for v in a) + f",{int(l)}\n")
print("numpy", np.__version__, "class counts", np.bincount(labels, minlength=3).tolist())

# Writes weight_decay.csv: six steps of torch.optim.AdamW and torch.optim.SGD(momentum, weight_decay)
# on the loss sum(c*w + q*w^2/2) in float64, with the learning rate changed between steps as a
# per-epoch schedule changes it. Run with /usr/bin/python3.
import torch

W0 = [1.0, -2.0, 3.0]
C = [0.5, -2.0, 1e-3]
Q = [1.0, 0.25, 2.0]
LRS = [0.1, 0.1, 0.05, 0.05, 0.02, 0.02]
cases = {
    "adamw": lambda p: torch.optim.AdamW([p], lr=LRS[0], weight_decay=0.3),
    "adam": lambda p: torch.optim.Adam([p], lr=LRS[0]),
    "sgd_wd": lambda p: torch.optim.SGD([p], lr=LRS[0], momentum=0.9, weight_decay=0.3),
    "sgd": lambda p: torch.optim.SGD([p], lr=LRS[0], momentum=0.9),
}
c = torch.tensor(C, dtype=torch.float64)
q = torch.tensor(Q, dtype=torch.float64)
rows = []
for name, make in cases.items():
    w = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    o = make(w)
    for t, lr in enumerate(LRS, 1):
        for g in o.param_groups:
            g["lr"] = lr
        o.zero_grad()
        (c * w + q * w * w / 2).sum().backward()
        o.step()
        rows.append(f"{name},{t}," + ",".join(repr(x) for x in w.detach().tolist()))
with open("weight_decay.csv", "w") as f:
    f.write(f"# torch {torch.__version__}: case,step,w...\n")
    f.write("\n".join(rows) + "\n")

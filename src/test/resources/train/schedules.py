# Writes schedules.csv: the learning rate of each epoch under torch.optim.lr_scheduler, stepped once
# per epoch (epoch e trains with the rate after e-1 scheduler steps). Run with /usr/bin/python3.
import math, warnings
import torch
warnings.filterwarnings("ignore")

LR = 0.05
EPOCHS = 30
cases = {
    "constant": lambda o: None,
    "step": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS, eta_min=0.001),
    "cosine_tmax10": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.0),
    "warmup_constant": lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5),
    "warmup_step": lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
        torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
        torch.optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.3)], milestones=[4]),
    "warmup_cosine": lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
        torch.optim.lr_scheduler.LinearLR(o, start_factor=1/3, end_factor=1.0, total_iters=3),
        torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS - 3, eta_min=0.002)], milestones=[3]),
}
rows = []
for name, make in cases.items():
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    o = torch.optim.SGD([p], lr=LR)
    s = make(o)
    for e in range(1, EPOCHS + 1):
        rows.append(f"{name},{e},{o.param_groups[0]['lr']!r}")
        o.step()
        if s is not None:
            s.step()
with open("schedules.csv", "w") as f:
    f.write(f"# torch {torch.__version__}, lr {LR}: case,epoch,lr\n")
    f.write("\n".join(rows) + "\n")

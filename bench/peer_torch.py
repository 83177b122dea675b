#!/usr/bin/env python3
"""PyTorch peer of bench_grad: one full-batch GD step of the same network, float64, CPU.

    f(x) = sum_j v_j ||w_j|| sigma(<x, w_j/||w_j||>)^p,  L = (1/n) sum_i exp(-y_i f(x_i)),
    theta = (W: h x D, v: h), step: theta -= lr * grad L (autograd).

Data and init follow the data model's shapes and distributions (mu_k = e_k,
noise alpha/sqrt(D), labels +1 for the first K1 subclasses; balanced init at
eps 1e-6), drawn by torch: the cost does not depend on the values.

Prints machine-readable lines for bench/driver.py:
    median_s SECONDS        median wall seconds of one step
    median_cpu_s SECONDS    median CPU seconds (the process, all threads)
    calls_per_sample K, reps R, threads T, shape n D h p
With --check: compares the autograd gradient with the formulas of
src/net/net_impl.h written out (here and, at 256 bits, in peer_mpmath.py)
and prints "check_max_rel_diff X".
"""
import argparse
import os
import sys
import time

from peer_common import add_model_args, check_model_args, median


def parse():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch, OpenMP and OpenBLAS threads (default 1)")
    ap.add_argument("--reps", type=int, default=7, help="samples; the median is reported (default 7)")
    add_model_args(ap)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--check", action="store_true", help="only check the gradient against the formulas")
    a = ap.parse_args()
    check_model_args(ap, a)
    for name in ("threads", "reps"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} = {getattr(a, name)} is out of range: need >= 1")
    return a


args = parse()
# OpenBLAS (Debian's torch calls it for matmul) reads its thread count at load
# time and ignores torch.set_num_threads: set every pool before the import.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
import torch  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_default_dtype(torch.float64)


def make_problem(n, D, h, K, K1, alpha, eps, gen):
    """X (n x D), y (n), W (h x D), v (h) with the data model's distributions."""
    z = torch.randint(0, K, (n,), generator=gen)
    X = torch.randn(n, D, generator=gen) * (alpha / D ** 0.5)
    X[torch.arange(n), z] += 1.0
    y = torch.where(z < K1, 1.0, -1.0)
    u = torch.randn(h, D, generator=gen)
    W = eps * u / u.norm(dim=1, keepdim=True)
    v = eps * torch.where(torch.rand(h, generator=gen) < 0.5, 1.0, -1.0)
    return X, y, W, v


def loss_fn(X, y, W, v, p):
    """The network and the mean exp loss, as a PyTorch user writes them."""
    nrm = W.norm(dim=1)
    a = torch.relu(X @ (W / nrm[:, None]).T)       # sigma(<x_i, w_j / ||w_j||>)
    f = a.pow(p) @ (v * nrm)                       # sum_j v_j ||w_j|| a^p
    return torch.exp(-y * f).mean()


def gd_step(X, y, W, v, p, lr):
    L = loss_fn(X, y, W, v, p)
    L.backward()
    with torch.no_grad():
        W -= lr * W.grad
        v -= lr * v.grad
    W.grad = None
    v.grad = None
    return L


def grad_formula(X, y, W, v, p):
    """The gradient by the formulas in the header of src/net/net_impl.h."""
    n = X.shape[0]
    nrm = W.norm(dim=1)
    a = torch.relu(X @ W.T / nrm)
    P = a.pow(p - 1)
    A = P * a
    f = A @ (v * nrm)
    g = -torch.exp(-y * f) * y / n                 # l'(q_i) y_i / n
    s = g @ A                                      # s_j = sum_i g_i a^p
    B = (P * g[:, None]).T @ X                     # sum_i g_i a^(p-1) x_i
    dW = v[:, None] * (p * B - (p - 1) * (s / nrm)[:, None] * W)
    dv = nrm * s
    return dW, dv


def check():
    """autograd == the formulas (float64), and == peer_mpmath's formulas at 256 bits."""
    gen = torch.Generator().manual_seed(1)
    X, y, W, v = make_problem(40, 8, 6, 4, 2, 0.3, 1.0, gen)
    W.requires_grad_(True)
    v.requires_grad_(True)
    loss_fn(X, y, W, v, args.p).backward()
    with torch.no_grad():
        dW, dv = grad_formula(X, y, W, v, args.p)
    auto = torch.cat([W.grad.flatten(), v.grad])
    form = torch.cat([dW.flatten(), dv])
    scale = auto.abs().max().item()
    worst = (auto - form).abs().max().item() / scale
    import peer_mpmath
    mdW, mdv = peer_mpmath.gradient(X.tolist(), y.tolist(), W.detach().tolist(), v.detach().tolist(),
                                    args.p, 256, "loops")
    mp = torch.tensor([float(t) for row in mdW for t in row] + [float(t) for t in mdv])
    worst_mp = (auto - mp).abs().max().item() / scale
    print(f"check autograd vs net_impl.h formulas (float64): max rel diff {worst:.3g}")
    print(f"check autograd vs peer_mpmath gradient (256 bits, rounded): max rel diff {worst_mp:.3g}")
    print(f"check_max_rel_diff {max(worst, worst_mp):.6g}")
    return 0 if max(worst, worst_mp) < 1e-12 else 1


def main():
    if args.check:
        return check()
    gen = torch.Generator().manual_seed(0)
    X, y, W, v = make_problem(args.n, args.D, args.h, args.K, args.K1, args.alpha, 1e-6, gen)
    W.requires_grad_(True)
    v.requires_grad_(True)
    # Warm-up and sizing of the samples as in bench_grad: steps until 3 were
    # made or 0.2 s passed; a step shorter than 20 ms is repeated within a sample.
    t0, warm = time.perf_counter(), 0
    while True:
        gd_step(X, y, W, v, args.p, args.lr)
        warm += 1
        t1 = time.perf_counter() - t0
        if warm >= 3 or t1 >= 0.2:
            break
    t1 /= warm
    k = 1 if t1 >= 0.02 else min(100000, int(0.02 / max(t1, 1e-7)) + 1)
    wall, cpu = [], []
    for _ in range(args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(k):
            gd_step(X, y, W, v, args.p, args.lr)
        cpu.append((time.process_time() - c0) / k)
        wall.append((time.perf_counter() - t0) / k)
    print(f"torch {torch.__version__} float64 CPU, torch threads {torch.get_num_threads()}, "
          f"OPENBLAS/OMP threads {args.threads}")
    print(f"shape n {args.n} D {args.D} h {args.h} p {args.p}")
    print(f"reps {args.reps} calls_per_sample {k} threads {args.threads}")
    print(f"median_s {median(wall):.6g}")
    print(f"median_cpu_s {median(cpu):.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

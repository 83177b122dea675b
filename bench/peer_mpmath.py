#!/usr/bin/env python3
"""mpmath peer of bench_grad: one gradient of the same network at BITS bits in plain Python.

The formulas are those of src/net/net_impl.h (f, mean exp loss, and
    dL/dv_j = ||w_j|| s_j,  dL/dw_j = v_j [p sum_i g_i a_ij^(p-1) x_i - (p-1) s_j w_j/||w_j||],
    a_ij = sigma(<x_i, w_j/||w_j||>), g_i = l'(y_i f_i) y_i / n, s_j = sum_i g_i a_ij^p).
The two products X W^T and G^T X are written either as plain loops over mpf
(--kernel loops, the default) or with mpmath.fdot, mpmath's own dot product
(--kernel fdot).  Values carry full BITS-bit mantissas, as the library's
data generated at 256 bits do.

Prints machine-readable lines for bench/driver.py:
    time_s SECONDS        wall seconds of one gradient at --n-target rows
    cpu_s SECONDS         its CPU seconds
    measured ...          what was measured, and how it was scaled (if it was)
"""
import argparse
import random
import sys
import time

import mpmath
from mpmath import mp, mpf

from peer_common import add_model_args, check_model_args


def gradient(X, y, W, v, p, bits, kernel):
    """(dW, dv) as nested lists of mpf; X n x D, W h x D (lists of numbers)."""
    mp.prec = bits
    X = [[mpf(t) for t in row] for row in X]
    W = [[mpf(t) for t in row] for row in W]
    v = [mpf(t) for t in v]
    return gradient_mpf(X, y, W, v, p, kernel)


def gradient_mpf(X, y, W, v, p, kernel):
    n, h, D = len(X), len(W), len(W[0])
    zero = mpf(0)

    if kernel == "fdot":
        dot = mpmath.fdot
    else:
        def dot(a, b):
            s = zero
            for k in range(len(a)):
                s += a[k] * b[k]
            return s

    nrm = [mpmath.sqrt(dot(w, w)) for w in W]
    c = [v[j] * nrm[j] for j in range(h)]              # v_j ||w_j||
    A = [[zero] * h for _ in range(n)]                 # a^p
    P = [[zero] * h for _ in range(n)]                 # a^(p-1), then g_i a^(p-1)
    f = [zero] * n
    for i in range(n):
        xi, Ai, Pi = X[i], A[i], P[i]
        fi = zero
        for j in range(h):
            u = dot(xi, W[j])                          # <x_i, w_j>
            if u > 0 and nrm[j] != 0:
                a = u / nrm[j]
                Pi[j] = a ** (p - 1)
                Ai[j] = Pi[j] * a
                fi += c[j] * Ai[j]
        f[i] = fi
    g = [-mpmath.exp(-y[i] * f[i]) * y[i] / n for i in range(n)]   # mean exp loss
    s = [zero] * h
    for i in range(n):
        for j in range(h):
            s[j] += g[i] * A[i][j]
            P[i][j] = P[i][j] * g[i]                   # G_ij
    # B = G^T X (h x D), on the columns of G and X
    Gc = [[P[i][j] for i in range(n)] for j in range(h)]
    Xc = [[X[i][d] for i in range(n)] for d in range(D)]
    dW = []
    for j in range(h):
        cw = (p - 1) * s[j] / nrm[j] if nrm[j] != 0 else zero
        dW.append([v[j] * (p * dot(Gc[j], Xc[d]) - cw * W[j][d]) for d in range(D)])
    dv = [nrm[j] * s[j] for j in range(h)]
    return dW, dv


def problem(n, D, h, K, K1, alpha, eps, bits, seed):
    """The data model's shapes and distributions, every value with a full mantissa."""
    mp.prec = bits
    rng = random.Random(seed)

    def full(x):
        return mpf(x) * (1 + (mp.rand() - mpf(0.5)) * mpf(2) ** -40)

    X, y = [], []
    for _ in range(n):
        k = rng.randrange(K)
        y.append(1 if k < K1 else -1)
        X.append([full(rng.gauss(0, 1) * alpha / D ** 0.5) + (1 if d == k else 0) for d in range(D)])
    W, v = [], []
    for _ in range(h):
        u = [full(rng.gauss(0, 1)) for _ in range(D)]
        r = mpmath.sqrt(sum(t * t for t in u))
        W.append([eps * t / r for t in u])
        v.append(eps if rng.random() < 0.5 else -eps)
    return X, y, W, v


def one(n, a):
    X, y, W, v = problem(n, a.D, a.h, a.K, a.K1, a.alpha, mpf("1e-6"), a.bits, 0)
    t0, c0 = time.perf_counter(), time.process_time()
    gradient_mpf(X, y, W, v, a.p, a.kernel)
    return time.perf_counter() - t0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_args(ap)     # --n: the rows actually computed
    ap.add_argument("--n-target", type=int, default=500, help="rows the estimate is for (default 500)")
    ap.add_argument("--bits", type=int, default=256)
    ap.add_argument("--kernel", choices=("loops", "fdot"), default="loops")
    a = ap.parse_args()
    check_model_args(ap, a)
    if not (min(50, a.n_target) <= a.n <= a.n_target):
        ap.error(f"--n = {a.n} is out of range: need {min(50, a.n_target)} <= n <= n-target = {a.n_target}")
    print(f"mpmath {mpmath.__version__} backend {mpmath.libmp.BACKEND}, prec {a.bits}, kernel {a.kernel}")
    one(2, a)   # warm-up: mpmath caches its constants at a new precision on first use
    if a.n == a.n_target:
        t, c = one(a.n, a)
        print(f"measured one gradient at n {a.n} D {a.D} h {a.h} p {a.p}: {t:.4g} s, cpu {c:.4g} s (not scaled)")
    else:
        # The cost is a + b n (the norms and the last loop do not grow with n):
        # two measured points give both, so the fixed part is not scaled up.
        n1 = max(1, a.n // 2)
        (t1, c1), (t2, c2) = one(n1, a), one(a.n, a)
        b, bc = (t2 - t1) / (a.n - n1), (c2 - c1) / (a.n - n1)
        print(f"measured one gradient at n {n1}: {t1:.4g} s (cpu {c1:.4g} s) and at n {a.n}: {t2:.4g} s "
              f"(cpu {c2:.4g} s), D {a.D} h {a.h} p {a.p}")
        if b > 0 and bc > 0:
            t, c = t2 + b * (a.n_target - a.n), c2 + bc * (a.n_target - a.n)
            print(f"SCALED linearly in n to n {a.n_target}: t = t({a.n}) + {b:.4g} s/row x {a.n_target - a.n} "
                  f"= {t:.4g} s, cpu {c:.4g} s (estimates, not measurements)")
        else:
            # the machine's noise exceeded the difference: plain proportion, an overestimate
            t, c = t2 * a.n_target / a.n, c2 * a.n_target / a.n
            print(f"SCALED in proportion to n (the two points were too noisy for a + b n): "
                  f"t({a.n}) x {a.n_target}/{a.n} = {t:.4g} s, cpu {c:.4g} s (estimates, an upper bound)")
    print(f"time_s {t:.6g}")
    print(f"cpu_s {c:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

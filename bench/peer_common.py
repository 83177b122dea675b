"""What the bench's Python scripts share: the model's shape options and the median."""


def add_model_args(ap):
    """The network and data options, defaults as in bench_grad (docs/theory.md §1-3)."""
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--D", type=int, default=30)
    ap.add_argument("--h", type=int, default=100)
    ap.add_argument("--K", type=int, default=10)
    ap.add_argument("--K1", type=int, default=6)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--p", type=int, default=3)


def check_model_args(ap, a):
    for name in ("n", "D", "h", "K1", "p"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} = {getattr(a, name)} is out of range: need >= 1")
    if not (a.K1 < a.K <= a.D):
        ap.error(f"K1 = {a.K1}, K = {a.K}, D = {a.D}: need K1 < K <= D")


def median(t):
    t = sorted(t)
    m = len(t)
    return float("nan") if m == 0 else t[m // 2] if m % 2 else 0.5 * (t[m // 2 - 1] + t[m // 2])

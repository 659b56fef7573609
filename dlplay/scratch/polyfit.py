"""Polynomial regression with an L2 (ridge) or L1 (lasso) penalty, and the sweep over
degree that makes overfitting visible.

Objectives, as scikit-learn writes them (the intercept is never penalised):
  ridge: ‖y − Xw − b‖² + α‖w‖²        — MAP estimate under a Gaussian prior on w
  lasso: ‖y − Xw − b‖² / (2n) + α‖w‖₁ — MAP estimate under a Laplace prior on w
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIORS = {
    "none": "No penalty: plain least squares, the maximum-likelihood fit under Gaussian noise.",
    "l2": "L2 (ridge) = a Gaussian prior on the weights: small weights are likely, large ones "
          "quadratically unlikely, so all shrink smoothly towards zero.",
    "l1": "L1 (lasso) = a Laplace prior on the weights: sharply peaked at zero, so many weights "
          "become exactly zero and only a few powers of x survive.",
}


def poly_features(x, degree: int) -> np.ndarray:
    """Columns P₁(x), …, P_degree(x): Legendre polynomials, for x in [-1, 1].

    They span exactly the same polynomials as x, x², …, x^degree, but unlike the plain
    powers (x^18 and x^20 look almost alike on [-1, 1]) they are close to orthogonal, so
    the fits stay accurate at high degree and the lasso converges in a few sweeps.
    The intercept (P₀ = 1) is fitted separately."""
    x = np.asarray(x, float).reshape(-1)
    return np.polynomial.legendre.legvander(x, degree)[:, 1:]


@dataclass
class PolyModel:
    degree: int
    coef: np.ndarray  # weights of P₁(x), P₂(x), …
    intercept: float

    def predict(self, x) -> np.ndarray:
        return poly_features(x, self.degree) @ self.coef + self.intercept


def ridge(X, y, alpha: float) -> tuple[np.ndarray, float]:
    """Least squares with an L2 penalty, in closed form on centred data."""
    xm, ym = X.mean(0), y.mean()
    Xc, yc = X - xm, y - ym
    A = Xc.T @ Xc + alpha * np.eye(X.shape[1])
    w = np.linalg.lstsq(A, Xc.T @ yc, rcond=None)[0]  # lstsq: still fine when α = 0 and A is singular
    return w, float(ym - xm @ w)


def lasso(X, y, alpha: float, max_iter: int = 5000, tol: float = 1e-9) -> tuple[np.ndarray, float]:
    """Least squares with an L1 penalty by coordinate descent: each weight in turn is set
    to its best value with the others fixed, which is a soft threshold."""
    xm, ym = X.mean(0), y.mean()
    Xc, yc = X - xm, y - ym
    n, d = Xc.shape
    w = np.zeros(d)
    residual = yc.copy()
    col_sq = (Xc ** 2).sum(0) / n
    for _ in range(max_iter):
        biggest = 0.0
        for j in range(d):
            rho = Xc[:, j] @ residual / n + col_sq[j] * w[j]
            new = np.sign(rho) * max(abs(rho) - alpha, 0.0) / col_sq[j]
            if new != w[j]:
                residual -= Xc[:, j] * (new - w[j])
                biggest = max(biggest, abs(new - w[j]))
                w[j] = new
        if biggest < tol:
            break
    return w, float(ym - xm @ w)


def fit_poly(x, y, degree: int, penalty: str = "l2", alpha: float = 0.0) -> PolyModel:
    X = poly_features(x, degree)
    y = np.asarray(y, float)
    if penalty == "l1" and alpha > 0:
        w, b = lasso(X, y, alpha)
    else:
        w, b = ridge(X, y, alpha if penalty == "l2" else 0.0)
    return PolyModel(degree, w, b)


def mse(model, x, y) -> float:
    return float(np.mean((model.predict(x) - np.asarray(y)) ** 2))


def degree_sweep(x_train, y_train, x_test, y_test, degrees, penalty: str = "l2",
                 alpha: float = 0.0) -> list[dict]:
    """Train and test error for each degree: the U-shaped test curve is overfitting."""
    rows = []
    for d in degrees:
        m = fit_poly(x_train, y_train, d, penalty, alpha)
        rows.append({"degree": d, "train_mse": mse(m, x_train, y_train), "test_mse": mse(m, x_test, y_test),
                     "nonzero": int(np.sum(np.abs(m.coef) > 1e-10))})
    return rows

"""A linear VAE on the 8×8 digits (64 → a 2-D code → 64) whose codes are drawn and whose KL term is counted
by the learner's function; the gradients are worked out by hand for this small model (the learner's z feeds
the decoder, the learner's KL the loss curve)."""
import numpy as np

from .common import batches, digits


def train(reparam_kl, seed=0, epochs=25, latent=2, lr=0.01, var=0.05):
    """Mini-batch gradient descent of the mean negative ELBO (the reconstruction's squared error over a
    pixel noise of variance `var`, + KL); the training loss and its KL part after every epoch, and the test
    reconstruction error (squared, per digit)."""
    X, _, Xt, _ = digits(seed)
    rng = np.random.default_rng(seed)
    We, Wv, Wd = (rng.normal(0, 0.1, shape) for shape in ((64, latent), (64, latent), (latent, 64)))
    be, bv, bd = np.zeros(latent), np.zeros(latent), X.mean(0)
    for epoch in range(1, epochs + 1):
        total = kl_total = 0.0
        for idx in batches(rng, len(X)):
            x, n = X[idx], len(idx)
            mu, lv = x @ We + be, np.clip(x @ Wv + bv, -8, 8)
            eps = rng.standard_normal(mu.shape)
            z, kl = (np.asarray(v, dtype=float) for v in reparam_kl(mu, lv, eps))
            xh = z @ Wd + bd
            total += float(0.5 * np.sum((xh - x) ** 2) / var + np.sum(kl))
            kl_total += float(np.sum(kl))
            g = (xh - x) / (n * var)
            gz = g @ Wd.T
            gmu, glv = gz + mu / n, gz * eps * 0.5 * np.exp(0.5 * lv) + 0.5 * (np.exp(lv) - 1) / n
            Wd, bd = Wd - lr * z.T @ g, bd - lr * g.sum(0)
            We, be = We - lr * x.T @ gmu, be - lr * gmu.sum(0)
            Wv, bv = Wv - lr * x.T @ glv, bv - lr * glv.sum(0)
        recon = (Xt @ We + be) @ Wd + bd  # the test digits through their codes' means
        yield {"epoch": epoch, "loss": total / len(X), "kl": kl_total / len(X),
               "test_error": float(np.mean(np.sum((recon - Xt) ** 2, axis=1)))}

"""A GAN in one dimension trained with the learner's two losses: the generator g(z) = a·z + c turns noise
into numbers, the discriminator (logit w₁x + w₂x² + w₀) tells them from samples of N(4, 0.5²). The losses'
gradients with respect to the discriminator's logits are taken from the learner's function by central
differences, one logit at a time; the rest of the chain is worked out by hand."""
import numpy as np


def train(gan_losses, seed=0, epochs=40, steps=10, batch=32, d_steps=3, lr=0.1, lr_g=0.05, real_mean=4.0,
          real_std=0.5):
    """`epochs` rows of `steps` steps each (a step: `d_steps` of the discriminator's, then one of the
    generator's): how far the generated numbers' mean and spread are from the real ones' (`gap`, |Δmean| +
    |Δstd| over 2,000 samples), and the two losses (at balance, when the discriminator can no longer tell,
    d_loss is 2·ln 2 ≈ 1.39 and g_loss ln 2 ≈ 0.69)."""
    rng = np.random.default_rng(seed)
    a, c, w = 1.0, 0.0, np.zeros(3)
    probe = rng.standard_normal(2000)

    def feats(v):  # standardised as the real data are (inputs normalised, as for any network): [1, u, u²]
        u = (v - real_mean) / real_std
        return np.stack([np.ones_like(u), u, u ** 2], axis=1)

    for epoch in range(1, epochs + 1):
        for _ in range(steps):
            for _ in range(d_steps):
                x, fake = rng.normal(real_mean, real_std, batch), a * rng.standard_normal(batch) + c
                dr, df_d, _ = _grads(gan_losses, feats(x) @ w, feats(fake) @ w)
                w = w - lr * (feats(x).T @ dr + feats(fake).T @ df_d)
            z = rng.standard_normal(batch)
            fake = a * z + c
            _, _, df_g = _grads(gan_losses, feats(x) @ w, feats(fake) @ w)
            u = (fake - real_mean) / real_std
            dx = df_g * (w[1] + 2 * w[2] * u) / real_std  # the generator's loss through the discriminator
            a, c = a - lr_g * float(dx @ z), c - lr_g * float(dx.sum())
        d_loss, g_loss = (float(v) for v in gan_losses(feats(x) @ w, feats(fake) @ w))
        made = a * probe + c
        yield {"epoch": epoch, "gap": float(abs(made.mean() - real_mean) + abs(made.std() - real_std)),
               "mean": float(made.mean()), "std": float(made.std()), "d_loss": d_loss, "g_loss": g_loss}


def _grads(gan_losses, real, fake, h=1e-5):
    """∂d_loss/∂real, ∂d_loss/∂fake and ∂g_loss/∂fake, logit by logit."""
    def at(r, f):
        return np.array([float(v) for v in gan_losses(r, f)])

    dr, dfd, dfg = np.zeros_like(real), np.zeros_like(fake), np.zeros_like(fake)
    for i in range(len(real)):
        up, down = real.copy(), real.copy()
        up[i] += h
        down[i] -= h
        dr[i] = (at(up, fake)[0] - at(down, fake)[0]) / (2 * h)
    for i in range(len(fake)):
        up, down = fake.copy(), fake.copy()
        up[i] += h
        down[i] -= h
        dfd[i], dfg[i] = (at(real, up) - at(real, down)) / (2 * h)
    return dr, dfd, dfg

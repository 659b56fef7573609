"""Generative models: autoencoders vs SVD, denoising, latent morphing, the VAE and the DCGAN."""

"""The SOM-AE chapter (Jülg et al. 2023, a multimodal SOM on an autoencoder's latent space).

- ``infant_sim``: the simulated sitting infant looking at its own right arm (pybullet);
- ``infant_data``: the cached (eye image, joint angles) dataset;
- ``autoencoder``: the convolutional image autoencoder;
- ``som``: the multimodal self-organizing map, its training and read-outs;
- ``plots``: the chapter's figures.
"""

"""The GMN / APoE chapter (Lim et al. 2019, Generative Multisensory Networks).

- ``scene_sim``: the multisensory scenes (Shepard-Metzler-like cube chains, exact ray-cast images);
- ``hand_sim``: the five-fingered kinematic hand that closes on a scene object (the haptic sense);
- ``scenes``: cached scene datasets, modality splits, batches;
- ``convdraw``: ConvDRAW pieces (ConvLSTM cells, DRAW core, Gaussian algebra);
- ``model``: the GMN with baseline, PoE and APoE inference;
- ``training``: the ELBO loop, cached checkpoints, parallel training jobs;
- ``evaluation``: the paper's evaluation protocols and iteration timing;
- ``plots``: the chapter's figures.
"""

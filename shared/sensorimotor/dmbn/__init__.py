"""The DMBN chapter (Seker et al. 2022, Deep Modality Blending Networks).

- ``model``: the DMBN (per-modality encoders, blended latent, decoders) and trajectory prediction;
- ``mvae``: the MVAE baseline as the authors adapted it;
- ``training``: training data (``SequenceData``, ``JointScaler``), the DMBN and MVAE loops, the weight cache;
- ``chapter_jobs``: the chapter's training data and networks as declared training jobs (what the notebook calls);
- ``evaluation``: full-trajectory predictions, errors, latent-space measures, judging imagined actions;
- ``authors_data``: loader for the authors' released dataset;
- ``plots``: the chapter's figures.

The tabletop scene and its dataset are shared: :mod:`sensorimotor.sim`.
"""

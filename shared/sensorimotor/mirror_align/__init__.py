"""The mirror-alignment chapter (Zhu et al. 2025, embodied representation alignment).

- ``tasks``: the instructed task suite on the shared tabletop simulator (experts, success detectors);
- ``demos``: recorded demonstrations and closed-loop rollouts (cached);
- ``video_text``: the action-understanding model U (video and instruction encoders);
- ``policy``: the embodied policy E (autoregressive);
- ``alignment``: the alignment heads, InfoNCE and recall measures;
- ``training``: the joint training loop and evaluation of U, E and the heads;
- ``experiments``: the chapter's cached experiments (what the notebook calls);
- ``plots``: the chapter's figures and tables.
"""

"""The shared tabletop simulator (pybullet) and its dataset, used by the DMBN and mirror-alignment chapters.

- ``tabletop``: the scene, cameras, recording, ``judge_trajectory`` (start here; see ``TABLETOP_API.md``);
- ``tabletop_layout``: the sides agents stand on and their base poses;
- ``tabletop_robots``: the Panda arm, IK, views and colours;
- ``tabletop_actions``: push/grasp/pull waypoints and timing;
- ``tabletop_judge``: what a behaviour did to the object, imitation labels;
- ``tabletop_dataset``: cached datasets of recorded interactions;
- ``tabletop_figures``: the figures of the book's simulator page.

Simulators used by one chapter only live in that chapter's subpackage (``gmn``, ``som_ae``).
"""

"""sensorimotor: the shared library behind the replication book.

One subpackage per chapter holds that chapter's own simulators, datasets, models, training,
evaluation and plots: ``dmbn``, ``gmn``, ``som_ae``, ``mirror_align`` (no chapter imports another).
Shared by several chapters: the tabletop simulator and its dataset (``sim``), and the tools every
chapter uses: profiles (``profiles``), stable hashes (``hashing``), claims (``claims``), caching (``cache``), seeding
(``seeding``), devices (``devices``), progress bars (``progress``) and the chapter pipeline
(``pipeline``).

Importing the package makes ``import torchvision`` work against a CPU-only torch as well (see
:mod:`sensorimotor.torchvision_compat`); on a normal install that step changes nothing.
"""

from sensorimotor.torchvision_compat import declare_missing_schemas as _declare_missing_schemas

__version__ = "0.1.0"

_declare_missing_schemas()

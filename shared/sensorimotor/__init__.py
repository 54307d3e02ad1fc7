"""sensorimotor: the shared library behind the replication book.

Simulators (``sensorimotor.sim``), dataset generation and caching (``sensorimotor.data``), models
(``sensorimotor.models``), and the tools every chapter uses: profiles (``profiles``), claims
(``claims``), caching (``cache``), seeding (``seeding``) and the chapter pipeline (``pipeline``).

Importing the package makes ``import torchvision`` work against a CPU-only torch as well (see
:mod:`sensorimotor.torchvision_compat`); on a normal install that step changes nothing.
"""

from sensorimotor.torchvision_compat import declare_missing_schemas as _declare_missing_schemas

__version__ = "0.1.0"

_declare_missing_schemas()

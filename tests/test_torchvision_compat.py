import subprocess
import sys

from sensorimotor.torchvision_compat import declare_missing_schemas, extension_available, import_torchvision


def test_torchvision_imports_and_works():
    torchvision = import_torchvision()
    import torch

    grid = torchvision.utils.make_grid(torch.rand(4, 3, 8, 8), nrow=2, padding=0)
    assert grid.shape == (3, 16, 16)
    assert torchvision.transforms.functional.resize(torch.rand(3, 8, 8), [4, 4]).shape == (3, 4, 4)


def test_declaring_is_idempotent():
    first = declare_missing_schemas()
    assert declare_missing_schemas() == []
    assert set(first) <= {"nms", "qnms"}


def test_plain_import_after_the_package_works_in_a_fresh_process():
    code = "import sensorimotor, torchvision; print(torchvision.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_extension_status_is_consistent():
    import torch

    if extension_available():  # a normal install: the compiled ops run
        boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
        assert import_torchvision().ops.nms(boxes, torch.tensor([1.0, 0.5]), 0.5).tolist() == [0]
    else:  # CPU torch with a CUDA torchvision wheel: the import works, the compiled ops do not
        assert declare_missing_schemas() == []

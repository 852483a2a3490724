"""LoaderConfig(image_dtype="uint8"): frames stay bytes until `to_device`, which makes exactly the
float32 images of the default loader (in this process and from DataLoader workers)."""

from __future__ import annotations

import pytest
import torch

from avcurr.data import LoaderConfig, make_loader
from avcurr.errors import AvcurrError
from avcurr.train.device import to_device
from shards_fixtures import built_root

ALL = ("c1", "c2")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return built_root(tmp_path_factory)[0]


@pytest.mark.parametrize("workers", [0, 1])
def test_uint8_frames_become_the_float_images_on_the_device(root, workers):
    config = dict(root=root, dataset="lav", split="train", curricula=ALL, batch_size=2, training=False)
    floats = list(make_loader(LoaderConfig(**config)))
    kept = list(make_loader(LoaderConfig(**config, image_dtype="uint8", num_workers=workers)))  # all kept alive
    assert [b["key"] for b in kept] == [b["key"] for b in floats] and len(kept) == 5
    for as_bytes, as_floats in zip(kept, floats):
        assert as_bytes["image"].dtype == torch.uint8 and as_bytes["image"].shape == as_floats["image"].shape
        assert torch.equal(as_bytes["spec"], as_floats["spec"])
        spec, image = to_device(as_bytes, torch.device("cpu"))
        assert image.dtype == torch.float32 and torch.equal(image, as_floats["image"])
        assert torch.equal(spec, as_floats["spec"])


def test_an_unknown_image_dtype_is_refused(root):
    with pytest.raises(AvcurrError, match="image_dtype 'float16'"):
        make_loader(LoaderConfig(root, "lav", "train", image_dtype="float16"))

"""MaskGen: runs Algorithm 1 once and emits a Masks artifact that later days reuse."""

from lt4rec.components.mask_gen.component import MaskGen  # noqa: F401

"""In-tree MotionBERT (DSTformer) 2D -> 3D lifter that loads the official checkpoints.

See docs/motionbert.md. Public API:
    MotionBERTLifter(checkpoint_path, config=LITE).lift(kp2d, width, height) -> (T, 17, 3)
    DSTformer, DSTformerConfig, LITE, BASE, TINY, config_from_json
    load_dstformer, save_checkpoint, read_checkpoint
"""
from olympia.pose.motionbert.checkpoint import load_dstformer, read_checkpoint, save_checkpoint
from olympia.pose.motionbert.lift import MotionBERTLifter
from olympia.pose.motionbert.model import (BASE, LITE, TINY, DSTformer, DSTformerConfig,
                                           config_from_json)

__all__ = ["MotionBERTLifter", "DSTformer", "DSTformerConfig", "LITE", "BASE", "TINY",
           "config_from_json", "load_dstformer", "read_checkpoint", "save_checkpoint"]

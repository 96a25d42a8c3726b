"""Item understanding: image and text towers, the CLIP-style ItemEncoder, and its training."""

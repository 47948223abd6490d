"""3D pose from video: backends (MediaPipe, MotionBERT) behind one interface, gap filling,
a cache keyed by (video sha256, segment, backend, model version) and a parallel stage.

See docs/video.md. Submodules import lazily: mediapipe and torch load only when used.
"""

"""Learned unit models: data -> training -> ONNX (with metadata) -> onnxruntime; bounds.

Knows nothing of steam networks: it learns and serves functions with named, bounded inputs.
"""

__version__ = "0.1.0"

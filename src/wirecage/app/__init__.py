"""Use cases composing the layers: ``up`` (later ``exec``, ``status``)."""

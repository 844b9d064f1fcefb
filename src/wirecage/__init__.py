"""wirecage: run a command in a cage whose only way out is a WireGuard tunnel."""

__version__ = "0.1.0"

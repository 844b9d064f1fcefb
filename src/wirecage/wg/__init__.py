"""A sans-IO implementation of the WireGuard protocol.

Nothing in this package opens a socket, reads a clock or draws random bytes by itself: time
and entropy are arguments. It imports only the standard library and ``cryptography``.
"""

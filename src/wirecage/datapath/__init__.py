"""The datapath: the event loop that drives the protocol core with the TUN device and UDP."""

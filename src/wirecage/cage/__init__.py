"""The cage: namespaces, TUN device, rtnetlink, DNS overlay, and the cage's processes."""

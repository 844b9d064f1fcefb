"""Small servers that run on the peer's side of the tunnel, as scripts for ``python3 -c``.

Each prints one line ("ready") once it listens, so that a test waits for that line instead of
sleeping.
"""

UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(b"echo:" + data, addr)
"""

# Answers A and AAAA for the names given as NAME=IPv4,IPv6 arguments, NXDOMAIN otherwise.
DNS = r"""
import socket, struct, sys
port = int(sys.argv[1])
names = {}
for arg in sys.argv[2:]:
    name, _, addrs = arg.partition("=")
    v4, _, v6 = addrs.partition(",")
    names[name.lower().rstrip(".")] = (v4, v6)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port))
print("ready", flush=True)
while True:
    q, addr = s.recvfrom(4096)
    ident, flags, qd = struct.unpack("!HHH", q[:6])
    off, labels = 12, []
    while q[off]:
        n = q[off]
        labels.append(q[off + 1:off + 1 + n].decode().lower())
        off += 1 + n
    qtype, qclass = struct.unpack("!HH", q[off + 1:off + 5])
    question = q[12:off + 5]
    name = ".".join(labels)
    answers = b""
    count = 0
    rcode = 3
    if name in names:
        rcode = 0
        v4, v6 = names[name]
        if qtype == 1 and v4:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(v4)
            count = 1
        elif qtype == 28 and v6:
            rdata = socket.inet_pton(socket.AF_INET6, v6)
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 60, 16) + rdata
            count = 1
    header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, count, 0, 0)
    s.sendto(header + question + answers, addr)
"""

HTTP = r"""
import http.server, socket, sys, functools
class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[2])
server = Server(("::", int(sys.argv[1])), handler)
print("ready", flush=True)
server.serve_forever()
"""

# A client for inside the cage: fetch URL, print "<bytes> <sha256>".
FETCH = r"""
import hashlib, sys, urllib.request
h = hashlib.sha256()
n = 0
with urllib.request.urlopen(sys.argv[1], timeout=60) as r:
    while True:
        chunk = r.read(1 << 16)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
print(n, h.hexdigest())
"""

# Inside the cage: send one UDP datagram, print the answer.
UDP_ASK = r"""
import socket, sys
host, port, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(5)
for attempt in range(6):
    s.sendto(text.encode(), (host, port))
    try:
        print(s.recvfrom(65535)[0].decode())
        break
    except socket.timeout:
        continue
else:
    sys.exit("no answer")
"""

# Inside the cage: try a TCP connection, print "connected" or the error's errno name.
CONNECT = r"""
import errno, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[3]) if len(sys.argv) > 3 else 5)
try:
    s.connect((host, port))
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
"""

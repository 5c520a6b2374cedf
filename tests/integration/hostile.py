#!/usr/bin/env python3
"""Hostile client shapes for the integration tests, over real sockets: raw TLS requests, slow
senders, stalled handshakes, connection floods, proof-of-possession replay, and CSRs no honest
client would build (raw subject bytes, huge or repeated extensions, oversized RSA moduli).

Standard library only, plus the openssl command for keys and signatures. Each subcommand checks
its own expectation and exits 1 with one line saying what went wrong."""
import argparse
import base64
import os
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def die(message):
    print(f"hostile.py: {message}", file=sys.stderr)
    sys.exit(1)


# --- TLS and HTTP -------------------------------------------------------------------------------
def context(args, tls12=False, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.check_hostname = False  # we dial 127.0.0.1; the chain is still verified against the root
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def connect(args, **kwargs):
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=30)
    return context(args, **kwargs).wrap_socket(raw, server_hostname="localhost")


def read_all(sock, limit=30.0):
    """Everything the server sends until it closes (or `limit` seconds pass)."""
    data = b""
    sock.settimeout(limit)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
        pass
    return data


def parse_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines or not lines[0].startswith(b"HTTP/1.1 "):
        return None, {}, data
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode(errors="replace")
    return status, headers, body


def basic(user, password_file):
    with open(password_file, encoding="utf-8") as f:
        password = f.readline().rstrip("\n")
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def post_csr(sock, path, csr_der, auth):
    body = base64.encodebytes(csr_der)
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: application/pkcs10\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    sock.sendall(head.encode() + body)
    return parse_response(read_all(sock))


def report(status, headers, body, args):
    """Prints the status; writes the body and headers where asked."""
    if args.body_out:
        with open(args.body_out, "wb") as f:
            f.write(body)
    if args.headers_out:
        with open(args.headers_out, "w", encoding="utf-8") as f:
            for name, value in headers.items():
                f.write(f"{name}: {value}\n")
    print(status if status is not None else "none")


def cmd_raw(args):
    """Sends the bytes of a file as they are over one TLS connection; prints the status."""
    with open(args.request, "rb") as f:
        request = f.read()
    sock = connect(args)
    sock.sendall(request)
    report(*parse_response(read_all(sock)), args)


def wait_for_close(sock, step, total, trickle):
    """Sends one byte of `trickle` every `step` seconds until the server closes or `total`
    seconds pass. Returns (seconds until the close or None, what the server sent)."""
    started = time.monotonic()
    received = b""
    at = 0
    sock.setblocking(False)
    while time.monotonic() - started < total:
        readable, _, _ = select.select([sock], [], [], step)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (ssl.SSLError, ConnectionError, OSError):
                return time.monotonic() - started, received
            if not chunk:
                return time.monotonic() - started, received
            received += chunk
            continue
        if at < len(trickle):
            try:
                sock.send(trickle[at:at + 1])
            except (ssl.SSLError, ConnectionError, OSError):
                return time.monotonic() - started, received
            at += 1
    return None, received


def expect_closed_within(elapsed, received, low, high, what):
    if elapsed is None:
        die(f"{what}: the server kept the connection open beyond {high} s")
    if received.startswith(b"HTTP/1.1 200"):
        die(f"{what}: the server answered 200 to an incomplete request")
    if not low <= elapsed <= high:
        die(f"{what}: the server closed after {elapsed:.1f} s, expected between {low} and {high} s")
    print(f"{elapsed:.1f}")


def cmd_slow_headers(args):
    """Slow-loris: request headers one byte per step, never finished."""
    sock = connect(args)
    trickle = b"POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + \
        b"a" * 10000
    elapsed, received = wait_for_close(sock, args.step, args.high + 5, trickle)
    expect_closed_within(elapsed, received, args.low, args.high, "slow headers")


def cmd_slow_body(args):
    """Slow-loris: complete headers, then the declared body one byte per step."""
    sock = connect(args)
    sock.sendall(b"POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\n"
                 b"Content-Type: application/pkcs10\r\nContent-Length: 5000\r\n\r\n")
    elapsed, received = wait_for_close(sock, args.step, args.high + 5, b"A" * 5000)
    expect_closed_within(elapsed, received, args.low, args.high, "slow body")


def cmd_stalled_handshake(args):
    """A TCP connection that starts no TLS handshake, or stops half-way through one."""
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=30)
    trickle = b""
    if args.partial:
        # The first bytes of a TLS record header announcing a ClientHello, then nothing more.
        raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    elapsed, received = wait_for_close(raw, 0.2, args.high + 5, trickle)
    expect_closed_within(elapsed, received, args.low, args.high, "stalled handshake")


def cmd_flood(args):
    """Opens `count` TLS connections and holds them; reports how many completed a handshake.
    Then checks one held connection still answers, and closes them all."""
    held, refused = [], 0
    for _ in range(args.count):
        try:
            sock = connect(args)
            held.append(sock)
        except (ssl.SSLError, ConnectionError, OSError):
            refused += 1
    if len(held) != args.expect_held:
        die(f"flood: {len(held)} of {args.count} connections were accepted, expected "
            f"{args.expect_held} (the limit)")
    if held:
        held[0].sendall(b"GET /.well-known/est/cacerts HTTP/1.1\r\nHost: localhost\r\n"
                        b"Connection: close\r\n\r\n")
        status, _, _ = parse_response(read_all(held[0]))
        if status != 200:
            die(f"flood: a connection held within the limit answered {status}, not 200")
    for sock in held:
        sock.close()
    print(f"{len(held)} held, {refused} refused")


# --- CSRs built byte by byte --------------------------------------------------------------------
def der(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + length + content


def seq(*items):
    return der(0x30, b"".join(items))


def integer(n):
    return der(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))


def oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.insert(0, 0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(chunk)
    return der(0x06, body)


def bit_string(content):
    return der(0x03, b"\x00" + content)


def name(cn_bytes):
    return seq(der(0x31, seq(oid("2.5.4.3"), der(0x0C, cn_bytes))))


def extension_request(extensions):
    """extensions: [(oid, value bytes)] as a PKCS#9 extensionRequest attribute."""
    body = b"".join(seq(oid(o), der(0x04, value)) for o, value in extensions)
    return seq(oid("1.2.840.113549.1.9.14"), der(0x31, seq(body)))


def openssl(*argv, data=None):
    result = subprocess.run(["openssl", *argv], input=data, capture_output=True, check=False)
    if result.returncode != 0:
        die(f"openssl {' '.join(argv)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def signed_csr(key_file, cn_bytes, extensions=(), password=None):
    """A PKCS#10 request with this subject CN (raw UTF8String bytes) and attributes, signed with
    the EC key in key_file (ecdsa-with-SHA256)."""
    spki = openssl("pkey", "-in", key_file, "-pubout", "-outform", "DER")
    attributes = b""
    if extensions:
        attributes += extension_request(extensions)
    if password is not None:
        attributes += seq(oid("1.2.840.113549.1.9.7"), der(0x31, der(0x0C, password.encode())))
    info = seq(integer(0), name(cn_bytes), spki, der(0xA0, attributes))
    signature = openssl("dgst", "-sha256", "-sign", key_file, data=info)
    return seq(info, seq(oid("1.2.840.10045.4.3.2")), bit_string(signature))


def cmd_csr(args):
    """Writes a base64 CSR of one hostile shape to args.out."""
    cn = args.cn.encode()
    if args.shape == "rsa-modulus":
        # An RSA key of args.bits bits that is never used: nobody can verify its signature
        # cheaply, and the server must refuse it before trying.
        modulus = (1 << (args.bits - 1)) | 0xF1
        spki = seq(seq(oid("1.2.840.113549.1.1.1"), der(0x05, b"")),
                   bit_string(seq(integer(modulus), integer(65537))))
        info = seq(integer(0), name(cn), spki, der(0xA0, b""))
        csr = seq(info, seq(oid("1.2.840.113549.1.1.11"), der(0x05, b"")),
                  bit_string(os.urandom(args.bits // 8)))
    else:
        extensions = []
        if args.shape == "nul-cn":
            cn = cn + b"\x00.evil"
        elif args.shape == "latin1-cn":
            cn = cn + b"\xe9\xff"  # not UTF-8
        elif args.shape == "huge-extension":
            extensions = [("1.3.6.1.4.1.99999.1", der(0x04, b"x" * args.size))]
        elif args.shape == "many-extensions":
            extensions = [(f"1.3.6.1.4.1.99999.{i}", der(0x05, b"")) for i in range(args.size)]
        elif args.shape == "duplicate-extension":
            extensions = [("2.5.29.17", seq(der(0x82, cn))), ("2.5.29.17", seq(der(0x82, cn)))]
        csr = signed_csr(args.key, cn, extensions)
    with open(args.out, "wb") as f:
        f.write(base64.encodebytes(csr))


def cmd_pop_replay(args):
    """Proof of possession across connections: builds a CSR whose challengePassword holds the
    tls-unique of connection A and sends it on connection B (TLS 1.2 both: Python exposes
    tls-unique, not tls-exporter). With --own, the binding of B itself (the control)."""
    auth = basic(args.user, args.password_file)
    first = connect(args, tls12=True)
    second = connect(args, tls12=True)
    binding = (second if args.own else first).get_channel_binding("tls-unique")
    if not binding:
        die("the TLS connection has no tls-unique binding")
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "key.pem")
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        csr = signed_csr(key, args.cn.encode(), password=base64.b64encode(binding).decode())
    report(*post_csr(second, args.path, csr, auth), args)
    first.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int)
    parser.add_argument("--ca", help="the server's root certificate (PEM)")
    parser.add_argument("--body-out")
    parser.add_argument("--headers-out")
    sub = parser.add_subparsers(dest="command", required=True)
    raw = sub.add_parser("raw")
    raw.add_argument("request")
    raw.set_defaults(run=cmd_raw)
    for command, run in (("slow-headers", cmd_slow_headers), ("slow-body", cmd_slow_body),
                         ("stalled-handshake", cmd_stalled_handshake)):
        p = sub.add_parser(command)
        p.add_argument("--low", type=float, required=True, help="earliest acceptable close (s)")
        p.add_argument("--high", type=float, required=True, help="latest acceptable close (s)")
        p.add_argument("--step", type=float, default=0.5, help="seconds between bytes")
        p.add_argument("--partial", action="store_true", help="send half a ClientHello")
        p.set_defaults(run=run)
    flood = sub.add_parser("flood")
    flood.add_argument("--count", type=int, required=True)
    flood.add_argument("--expect-held", type=int, required=True)
    flood.set_defaults(run=cmd_flood)
    csr = sub.add_parser("csr")
    csr.add_argument("shape", choices=["plain", "rsa-modulus", "nul-cn", "latin1-cn", "huge-extension",
                                       "many-extensions", "duplicate-extension"])
    csr.add_argument("--cn", required=True)
    csr.add_argument("--key", help="EC private key (PEM) that signs the CSR")
    csr.add_argument("--bits", type=int, default=16384)
    csr.add_argument("--size", type=int, default=40000)
    csr.add_argument("--out", required=True)
    csr.set_defaults(run=cmd_csr)
    pop = sub.add_parser("pop-replay")
    pop.add_argument("--user", required=True)
    pop.add_argument("--password-file", required=True)
    pop.add_argument("--cn", required=True)
    pop.add_argument("--path", default="/.well-known/est/simpleenroll")
    pop.add_argument("--own", action="store_true")
    pop.set_defaults(run=cmd_pop_replay)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()

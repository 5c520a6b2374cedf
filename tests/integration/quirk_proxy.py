#!/usr/bin/env python3
"""A TLS reverse proxy in front of a real est-server that answers the way deployed EST servers do,
not the way est-server does, so that est-client can be tried against them (client_quirks_test.sh).

The quirk is the first two path segments: /q/<quirk>/.well-known/est/<op> is forwarded to the
est-server as /.well-known/est/<op>, and a 200 answer's base64 (each part of a multipart answer
too) is decoded and written again in the quirk's form:

  oneline       base64 on one line, Content-Transfer-Encoding: base64 (RFC 8951's form)
  nul           the same followed by a NUL byte that Content-Length counts
  crlf          base64 in lines of 64 characters, each ended by CRLF
  nocte         base64 on one line, no Content-Transfer-Encoding
  trailing-ws   base64 followed by blanks and line ends
  binary        the DER itself, Content-Transfer-Encoding: binary
  der-nocte     the DER itself, no Content-Transfer-Encoding
  media-case    media types and their parameters in capitals, with an extra parameter

and csrattrs-<failure> answers /csrattrs badly (the other operations as oneline): 204, 404, 501,
drop (the connection closes without an answer), garbage (200 whose body is not base64), notder
(200 whose base64 does not hold a CsrAttrs) and html (200 text/html).

lost-answer forwards every request, then closes a POST's connection without its answer: the
server issued, the device never heard (GETs are answered as oneline).

Standard library only. Usage: quirk_proxy.py --upstream-port P --upstream-ca ROOT --cert CHAIN
--key KEY --port-file FILE (it listens on 127.0.0.1, on a port of the system's choosing)."""
import argparse
import base64
import http.client
import http.server
import os
import re
import ssl
import sys

BODY_FORMS = ("oneline", "nul", "crlf", "nocte", "trailing-ws", "binary", "der-nocte", "media-case")
CSRATTRS_FAILURES = ("204", "404", "501", "drop", "garbage", "notder", "html")


def encode(der, form):
    """The body of `der` in `form`, and the Content-Transfer-Encoding to send (None: no header)."""
    flat = base64.b64encode(der)
    if form == "nul":
        return flat + b"\0", "base64"
    if form == "crlf":
        return b"".join(flat[i:i + 64] + b"\r\n" for i in range(0, len(flat), 64)), "base64"
    if form == "nocte":
        return flat, None
    if form == "trailing-ws":
        return flat + b"  \r\n\t \r\n", "base64"
    if form == "binary":
        return der, "binary"
    if form == "der-nocte":
        return der, None
    if form == "media-case":
        return flat, "BASE64"
    return flat, "base64"


def media_type(value, form):
    """A Content-Type value as the quirk writes it: media-case puts the type and the parameter
    names (not the values: a boundary is case-sensitive) in capitals and adds a parameter."""
    if form != "media-case":
        return value
    pieces = [piece.strip() for piece in value.split(";")]
    upper = [pieces[0].upper()]
    for parameter in pieces[1:]:
        name, _, parameter_value = parameter.partition("=")
        upper.append(name.upper() + "=" + parameter_value)
    return "; ".join(upper + ['Name="est.bin"'])


def rewrite_multipart(body, content_type, form):
    """Each part of a multipart/mixed body, its base64 decoded and written again in `form`."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1).encode()
    delimiter = b"--" + boundary
    pieces = body.split(delimiter)
    parts = []
    for piece in pieces[1:-1]:  # pieces[0] is the preamble, the last one starts with "--"
        head, _, content = piece.strip(b"\r\n").partition(b"\r\n\r\n")
        headers = [line.split(b":", 1) for line in head.split(b"\r\n") if line]
        der = base64.b64decode(b"".join(content.split()))
        encoded, encoding = encode(der, form)
        lines = []
        for name, value in headers:
            if name.strip().lower() == b"content-transfer-encoding":
                continue
            if name.strip().lower() == b"content-type":
                value = media_type(value.strip().decode(), form).encode()
            lines.append(name.strip() + b": " + value.strip())
        if encoding:
            lines.append(b"Content-Transfer-Encoding: " + encoding.encode())
        parts.append(b"\r\n".join(lines) + b"\r\n\r\n" + encoded)
    return b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + delimiter + b"--\r\n"


class Handler(http.server.BaseHTTPRequestHandler):
    # Keep-alive: est-client fetches /cacerts on the connection of its enrollment.
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.forward()

    def do_POST(self):
        self.forward()

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stderr.write("quirk_proxy: %s\n" % (format % args))

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self):
        length = int(self.headers.get("Content-Length", "0"))
        request_body = self.rfile.read(length) if length else None
        match = re.fullmatch(r"/q/([a-z0-9-]+)(/.*)", self.path)
        quirk = match.group(1) if match else ""
        failure = quirk[len("csrattrs-"):] if quirk.startswith("csrattrs-") else None
        lost_answer = quirk == "lost-answer"
        if quirk not in BODY_FORMS and failure not in CSRATTRS_FAILURES and not lost_answer:
            self.answer(400, [("Content-Type", "text/plain")], b"no such quirk\n")
            return
        path = match.group(2)
        form = quirk if failure is None and not lost_answer else "oneline"
        if failure is not None and path.endswith("/csrattrs"):
            self.fail_csrattrs(failure)
            return

        upstream = http.client.HTTPSConnection("localhost", self.server.upstream_port,
                                               context=self.server.upstream_context, timeout=30)
        headers = {name: self.headers[name]
                   for name in ("Authorization", "Content-Type", "Content-Transfer-Encoding")
                   if self.headers[name] is not None}
        upstream.request(self.command, path, body=request_body, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        upstream.close()
        if lost_answer and self.command == "POST":
            self.close_connection = True
            return
        content_type = response.getheader("Content-Type", "")
        kept = [(name, value) for name, value in response.getheaders()
                if name.lower() not in ("content-length", "content-type", "content-transfer-encoding",
                                        "connection", "date", "server")]
        if response.status != 200:
            self.answer(response.status, kept + [("Content-Type", content_type)], body)
            return
        if content_type.lower().startswith("multipart/"):
            body = rewrite_multipart(body, content_type, form)
            self.answer(200, kept + [("Content-Type", media_type(content_type, form))], body)
            return
        body, encoding = encode(base64.b64decode(b"".join(body.split())), form)
        if encoding:
            kept.append(("Content-Transfer-Encoding", encoding))
        self.answer(200, kept + [("Content-Type", media_type(content_type, form))], body)

    def fail_csrattrs(self, failure):
        text = [("Content-Type", "text/plain")]
        if failure == "204":
            self.send_response(204)
            self.end_headers()
        elif failure == "404":
            self.answer(404, text, b"Not Found\n")
        elif failure == "501":
            self.answer(501, text, b"csrattrs is not implemented\n")
        elif failure == "drop":
            self.close_connection = True
        elif failure == "garbage":
            self.answer(200, [("Content-Type", "application/csrattrs")], b"%%% not base64 %%%\0")
        elif failure == "notder":
            self.answer(200, [("Content-Type", "application/csrattrs")],
                        base64.b64encode(b"this is not a CsrAttrs") + b"\0")
        elif failure == "html":
            self.answer(200, [("Content-Type", "text/html")], b"<html><body>EST</body></html>\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--upstream-ca", required=True, help="the est-server's ca/root.pem")
    parser.add_argument("--cert", required=True, help="the proxy's certificate chain (PEM)")
    parser.add_argument("--key", required=True, help="the proxy's private key (PEM)")
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.upstream_port = args.upstream_port
    server.upstream_context = ssl.create_default_context(cafile=args.upstream_ca)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    with open(args.port_file + ".tmp", "w", encoding="ascii") as port_file:
        port_file.write(str(server.server_address[1]))
    # Renamed into place, so that a reader never sees a half-written port.
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()

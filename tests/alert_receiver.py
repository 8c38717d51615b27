#!/usr/bin/env python3
"""A webhook receiver for tests/t_alerts.sh: a real HTTP server on 127.0.0.1.

    alert_receiver.py DIR [--fail-first N] [--status CODE] [--delay SECONDS]

Writes its port to DIR/port once listening.  Every POST is recorded as DIR/NNNN.json (the body)
and DIR/NNNN.headers (the request headers), written whole and then renamed so that a reader
never sees half a file, and a line "NNNN STATUS" is appended to DIR/requests.  The first N
requests (--fail-first) are answered 500, the others --status (200); each answer waits --delay.
"""
import argparse
import http.server
import os
import threading
import time

lock = threading.Lock()
count = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--status", type=int, default=200)
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_POST(self):
            global count
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            with lock:
                count += 1
                seq = count
            status = 500 if seq <= args.fail_first else args.status
            name = os.path.join(args.dir, "%04d" % seq)
            for ext, data in ((".headers", str(self.headers).encode()), (".json", body)):
                with open(name + ext + ".tmp", "wb") as f:
                    f.write(data)
                os.rename(name + ext + ".tmp", name + ext)
            time.sleep(args.delay)
            with lock, open(os.path.join(args.dir, "requests"), "a") as f:
                f.write("%04d %d\n" % (seq, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(os.path.join(args.dir, "port.tmp"), "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A local SMTP server for the alarm tests (Debian's python3-aiosmtpd).

Listens on 127.0.0.1 only, prints "PORT <n>" once it accepts connections,
and appends every message it takes to --out as one JSON line: mail_from,
rcpt_tos, data (the message), authenticated (the user, or null), tls.

  --mode starttls  plain connection, STARTTLS required before anything else
  --mode tls       TLS from the first byte (SMTPS)
  --mode plain     no TLS (and no AUTH)
  --user/--password  AUTH PLAIN/LOGIN required with these
  --fail N         answer the first N messages "451" (a temporary failure)
Stops on SIGTERM or when stdin closes.
"""
import argparse
import json
import signal
import socket
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

warnings.filterwarnings("ignore")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    def __init__(self, out, fail):
        self.out = out
        self.fail = fail
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.fail > 0:
                self.fail -= 1
                return "451 4.3.0 try again later"
            record = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
                "authenticated": (session.auth_data.login.decode()
                                  if isinstance(session.auth_data, LoginPassword) else None),
                "tls": server.transport.get_extra_info("ssl_object") is not None,
            }
            with open(self.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["starttls", "tls", "plain"], default="starttls")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login.decode() == args.user and
              auth_data.password.decode() == args.password)
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    context = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    params = {}
    if args.user:
        params["authenticator"] = authenticator
        params["auth_required"] = True
        # Implicit TLS is invisible to aiosmtpd's check (it looks for STARTTLS).
        params["auth_require_tls"] = args.mode == "starttls"
    else:
        params["auth_require_tls"] = False
    if args.mode == "starttls":
        params["tls_context"] = context
        params["require_starttls"] = True

    port = free_port()
    handler = Handler(args.out, args.fail)
    if args.mode == "tls":
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context,
                                server_hostname="localhost", **params)
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, **params)
    controller.start()
    print(f"PORT {port}", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()

"""A minimal SMTP sink for the benches: answers fast, counts Message-IDs, can add latency.

    .venv/bin/python bench/smtp_sink.py PORT OUT.json [--latency-ms 5]

With aiosmtpd as the sink (what the benches used first), one daemon sent 174 reminders/s in
bench/timeliness_bench.py; to this sink it sent 499/s the same hour: aiosmtpd, not the daemon,
was the limit being measured. This one is a bare asyncio protocol: it parses only what a client
needs answered (the command verb, the end of DATA) and the Message-ID header, and answers
every command with a fixed line. Enough for aiosmtplib and `SmtpTransport` (EHLO, MAIL, RCPT,
DATA, RSET, NOOP, QUIT), not a general SMTP server.

`--latency-ms L` delays every reply (the greeting included) by L milliseconds, like a relay
across a network: a message on a reused connection then takes four round trips (MAIL, RCPT,
DATA, the end of the data), so a sender is latency-bound as against a real relay, whose
answers take milliseconds, not the microseconds of a loopback sink. 0 (the default) answers
at once.

`--processes N` runs N sink processes on the one port (SO_REUSEPORT: the kernel spreads the
connections over them), for a client whose connections one process cannot answer fast enough;
the first process starts the others, and on SIGTERM stops them and adds up their counts.

It prints "ready" when it listens, and on SIGTERM writes {Message-ID: times received} to OUT
and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

GREETING = b"220 sink ESMTP\r\n"
EHLO = b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
OK = b"250 OK\r\n"
GO_AHEAD = b"354 end with <CRLF>.<CRLF>\r\n"
BYE = b"221 bye\r\n"
UNKNOWN = b"502 not implemented\r\n"
REPLIES = {
    b"EHLO": EHLO,
    b"HELO": b"250 sink\r\n",
    b"MAIL": OK,
    b"RCPT": OK,
    b"RSET": OK,
    b"NOOP": OK,
    b"DATA": GO_AHEAD,
    b"QUIT": BYE,
}
END_OF_DATA = b"\r\n.\r\n"


class Sink(asyncio.Protocol):
    """One client connection: command lines, then DATA up to the lone dot."""

    def __init__(self, seen: collections.Counter[str], latency: float) -> None:
        self.seen = seen
        self.latency = latency
        self.buffer = b""
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.reply(GREETING)

    def reply(self, line: bytes, close: bool = False) -> None:
        transport = self.transport
        assert transport is not None
        if self.latency <= 0:
            transport.write(line)
            if close:
                transport.close()
            return

        def send() -> None:
            if not transport.is_closing():
                transport.write(line)
                if close:
                    transport.close()

        asyncio.get_running_loop().call_later(self.latency, send)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                # DATA begins right after "354", so the terminator may be the first line
                body = b"\r\n" + self.buffer
                end = body.find(END_OF_DATA)
                if end < 0:
                    return
                self.count(body[2:end])
                self.buffer = body[end + len(END_OF_DATA) :]
                self.in_data = False
                self.reply(OK)
                continue
            line, found, rest = self.buffer.partition(b"\r\n")
            if not found:
                return
            self.buffer = rest
            verb = line[:4].upper()
            self.in_data = verb == b"DATA"
            self.reply(REPLIES.get(verb, UNKNOWN), close=verb == b"QUIT")

    def count(self, message: bytes) -> None:
        head = message.partition(b"\r\n\r\n")[0]
        start = head.lower().find(b"message-id:")
        if start < 0:
            self.seen["(none)"] += 1
            return
        value = head[start + len(b"message-id:") :].partition(b"\r\n")[0]
        self.seen[value.strip().decode("ascii", "replace")] += 1


async def serve(port: int, latency_ms: float, reuse_port: bool) -> collections.Counter[str]:
    seen: collections.Counter[str] = collections.Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Sink(seen, latency_ms / 1000),
        "127.0.0.1",
        port,
        backlog=512,
        reuse_port=reuse_port or None,
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("port", type=int)
    parser.add_argument("out", type=Path, help="where the Message-ID counts go on SIGTERM")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before every reply, in ms"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="sink processes sharing the port (SO_REUSEPORT)"
    )
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.processes <= 1:
        seen = asyncio.run(serve(args.port, args.latency_ms, reuse_port=args.reuse_port))
        args.out.write_text(json.dumps(dict(seen)), encoding="utf-8")
        return
    others = [start_other(args, number) for number in range(1, args.processes)]
    seen = asyncio.run(serve(args.port, args.latency_ms, reuse_port=True))
    for other, _ in others:
        other.send_signal(signal.SIGTERM)
    for other, out in others:
        other.wait()
        seen.update(json.loads(out.read_text(encoding="utf-8")))
    args.out.write_text(json.dumps(dict(seen)), encoding="utf-8")


def start_other(args: argparse.Namespace, number: int) -> tuple[subprocess.Popen[str], Path]:
    """Another sink process on the same port; ready when it says so."""
    assert hasattr(socket, "SO_REUSEPORT"), "--processes needs SO_REUSEPORT (Linux, BSD)"
    out = args.out.with_suffix(f".{number}.json")
    command = [sys.executable, __file__, str(args.port), str(out), "--reuse-port"]
    command += ["--latency-ms", str(args.latency_ms)]
    other = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None
    if other.stdout.readline().strip() != "ready":
        raise SystemExit("a sink process did not start")
    return other, out


if __name__ == "__main__":
    main()

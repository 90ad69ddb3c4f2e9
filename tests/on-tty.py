#!/usr/bin/env python3
"""Run a command on a pseudo-terminal and capture what it writes there.

usage: on-tty.py [--raw FILE] [--wait-for TEXT --then-touch FILE]
                 [--timeout SECONDS] -- COMMAND [ARG]...

COMMAND runs with its standard input, output and error on the slave side of
a new pty (80 columns, 24 rows). Everything it writes there goes, byte for
byte, to the --raw FILE; what a terminal would show at the end (carriage
returns, newlines and the erase-to-end-of-line sequence ESC [ K applied,
other escape sequences dropped) goes to standard output. With --wait-for,
FILE is created once TEXT has appeared in the output, so that the command
can wait for it (no fixed sleep). Exit status: COMMAND's (128+N when signal
N killed it), 99 on a timeout (default 120 s) or a harness error.
"""
import argparse
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time


def render(data):
    """The lines a terminal shows after `data` (a bytes object)."""
    text = data.decode("utf-8", "replace")
    lines, line, col = [], [], 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\033":
            m = re.match(r"\033\[([0-9;?]*)([@-~])", text[i:])
            if m:
                if m.group(2) == "K" and m.group(1) in ("", "0"):
                    del line[col:]
                i += m.end()
                continue
            i += 1
            continue
        if c == "\r":
            col = 0
        elif c == "\n":
            lines.append("".join(line))
            line, col = [], 0
        elif c == "\b":
            col = max(0, col - 1)
        else:
            if col < len(line):
                line[col] = c
            else:
                line.extend(" " * (col - len(line)))
                line.append(c)
            col += 1
        i += 1
    if line:
        lines.append("".join(line))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw")
    ap.add_argument("--wait-for")
    ap.add_argument("--then-touch")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        print("on-tty.py: no command", file=sys.stderr)
        return 99

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            start_new_session=True)
    os.close(slave)

    out = bytearray()
    touched = False
    deadline = time.monotonic() + a.timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            proc.kill()
            break
        r, _, _ = select.select([master], [], [], min(left, 1.0))
        if not r:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every slave descriptor is closed
            break
        if not chunk:
            break
        out += chunk
        if a.wait_for and not touched and a.wait_for.encode() in out:
            with open(a.then_touch, "w"):
                pass
            touched = True
    os.close(master)
    status = proc.wait()
    if a.raw:
        with open(a.raw, "wb") as f:
            f.write(out)
    for line in render(bytes(out)):
        print(line)
    if timed_out:
        print("on-tty.py: timed out after %g s" % a.timeout, file=sys.stderr)
        return 99
    return 128 - status if status < 0 else status


if __name__ == "__main__":
    sys.exit(main())

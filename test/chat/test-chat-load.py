#!/usr/bin/env python3
"""chat-load --verify against a chat server that breaks one rule.

Usage: test-chat-load.py CHAT_LOAD

The server here speaks the protocol of docs/chat.md, with one fault
injected at the 50th delivery: a message lost, duplicated, swapped with
the same sender's next one, sent to another room or back to its sender.
chat-load must exit 1 for each fault and 0 for the faithful server, so
that its verdict on evfut-chat and the libuv peer means something.
"""

import asyncio
import subprocess
import sys

LOAD = None
FAULTS = ["none", "lose", "duplicate", "swap", "cross-room", "echo",
          "bad-id"]


class Chat:
    def __init__(self, fault):
        self.fault = fault
        self.rooms = {}
        self.room_of = {}
        self.next_id = 1
        self.deliveries = 0
        # "swap": a delivery sent after the sender's next one to the same
        # member (order is promised per sender, not across senders).
        self.held = None

    def deliver(self, writer, line):
        writer.write(line)

    def fan_out(self, sender, sid, text):
        room = self.room_of[sender]
        for member in self.rooms[room]:
            if member is sender:
                continue
            line = b"%d %s\n" % (sid, text)
            self.deliveries += 1
            if self.deliveries == 50:
                if self.fault == "lose":
                    continue
                if self.fault == "duplicate":
                    member.write(line)
                if self.fault == "swap":
                    self.held = (member, sid, line)
                    continue
                if self.fault == "cross-room":
                    other = next(r for r in self.rooms if r != room)
                    next(iter(self.rooms[other])).write(line)
                if self.fault == "echo":
                    sender.write(line)
                if self.fault == "bad-id":
                    line = b"%d %s\n" % (sid + 1000, text)
            member.write(line)
            if self.held is not None and self.held[0] is member and \
                    self.held[1] == sid and self.held[2] != line:
                member.write(self.held[2])
                self.held = None

    async def serve(self, reader, writer):
        sid = self.next_id
        self.next_id += 1
        writer.write(b"HELLO %d\n" % sid)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                line = line.rstrip(b"\n")
                if line.startswith(b"JOIN "):
                    self.rooms.setdefault(line[5:], set()).add(writer)
                    self.room_of[writer] = line[5:]
                    writer.write(b"OK\n")
                elif line.startswith(b"MSG "):
                    self.fan_out(writer, sid, line[4:])
                elif line == b"QUIT":
                    break
                await writer.drain()
        except ConnectionError:
            pass  # chat-load exits as soon as it found the fault
        finally:
            room = self.room_of.pop(writer, None)
            if room is not None:
                self.rooms[room].discard(writer)
            writer.close()


async def run(fault):
    chat = Chat(fault)
    server = await asyncio.start_server(chat.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        LOAD, "--port", str(port), "--clients", "6", "--rooms", "2",
        "--window", "4", "--messages", "40", "--verify",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    server.close()
    return proc.returncode, err.decode().strip()


def main():
    global LOAD
    LOAD = sys.argv[1]
    failed = 0
    print(f"1..{len(FAULTS)}")
    for number, fault in enumerate(FAULTS, 1):
        status, err = asyncio.run(run(fault))
        want = 0 if fault == "none" else 1
        ok = status == want
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} {number} - {fault}: exit "
              f"{status}" + (f" # {err}" if err else ""))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

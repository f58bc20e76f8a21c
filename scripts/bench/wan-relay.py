#!/usr/bin/env python3
"""A TCP relay that emulates a WAN link: each direction is a link of RATE bit/s that delays every
byte by DELAY ms (one way). Used by the cluster benchmark to put a broker "in the cloud", and by
scripts/netns-cluster.sh to delay each device's link (in the device's network namespace).

    wan-relay.py --listen 127.0.0.1:PORT --target 127.0.0.1:PORT [--delay-ms 20] [--rate-mbit 20]

A chunk read at time t leaves the sender's link when the link has sent everything before it plus
the chunk itself (size × 8 / rate), and arrives DELAY later. Prints "ready PORT" once listening.
"""
import argparse
import asyncio
import socket


async def pump(reader, writer, delay, rate):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    link_free_at = 0.0

    async def deliver():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            now = loop.time()
            link_free_at = max(now, link_free_at) + len(data) * 8 / rate
            await queue.put((link_free_at + delay, data))
    except ConnectionError:
        pass
    await queue.put((0, None))
    await sender


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--rate-mbit", type=float, default=20.0)
    args = parser.parse_args()
    delay, rate = args.delay_ms / 1000, args.rate_mbit * 1e6
    target_host, target_port = args.target.rsplit(":", 1)

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, int(target_port))
        except OSError:
            client_writer.close()
            return
        for w in (client_writer, server_writer):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(
            pump(client_reader, server_writer, delay, rate),
            pump(server_reader, client_writer, delay, rate),
            return_exceptions=True)

    host, port = args.listen.rsplit(":", 1)
    server = await asyncio.start_server(handle, host, int(port))
    print("ready", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

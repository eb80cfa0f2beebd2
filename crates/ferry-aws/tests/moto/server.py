"""moto's server on 127.0.0.1 for one test run: prints "ready", serves until its stdin closes,
so it ends with the test process that started it, whatever way that process ends."""
import os
import sys

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
# The server's threads are not daemons: a normal exit would wait for them forever.
os._exit(0)

"""moto's server on 127.0.0.1 for one test run: prints "ready", serves until its stdin closes,
so it ends with the test process that started it, whatever way that process ends.

A second port serves GET /ses/messages: every email SES accepted, as JSON (moto's own
/moto-api/data.json fails once some services hold state)."""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends


class SentMail(BaseHTTPRequestHandler):
    def do_GET(self):
        messages = []
        for region in ("us-east-1",):
            for m in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages:
                messages.append({
                    "source": m.source,
                    "to": list(getattr(m, "destinations", {}).get("ToAddresses", [])),
                    "subject": getattr(m, "subject", None),
                    "body": getattr(m, "body", None),
                })
        body = json.dumps(messages).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
mail = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), SentMail)
threading.Thread(target=mail.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
# The server's threads are not daemons: a normal exit would wait for them forever.
os._exit(0)

"""A webhook receiver that checks Kohort's Standard Webhooks signature before trusting a
delivery. Run it with the endpoint's secret:

    WEBHOOK_SECRET=whsec_… PORT=4242 .venv/bin/python docs/examples/webhook_receiver.py

It prints one line per verified event and answers 204; a bad signature gets 400."""

import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])
seen: set[str] = set()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            event = webhook.verify(body, dict(self.headers.items()))
        except WebhookVerificationError:
            self.send_response(400)
            self.end_headers()
            return
        delivery = self.headers["webhook-id"]
        if delivery not in seen:  # a retry of a delivery carries the same webhook-id
            seen.add(delivery)
            print(f"python verified {event['type']} {event['data']['id']}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "4242"))), Receiver).serve_forever()

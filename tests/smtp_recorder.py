#!/usr/bin/env python3
"""A real SMTP server on loopback for the email tests (aiosmtpd), that records what it receives.

Every message it accepts is appended to OUT as one JSON line: the envelope (mail_from, rcpt_tos)
and the parsed message (message_id, from, to, subject, the text/plain and text/html parts). It
prints `listening on 127.0.0.1:PORT` once it accepts connections, and runs until killed.

    python3 tests/smtp_recorder.py PORT OUT
"""

import email
import email.policy
import json
import sys
import threading

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html") and not part.is_multipart():
                parts[part.get_content_type()] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": message["Message-ID"],
            "from": message["From"],
            "to": message["To"],
            "subject": message["Subject"],
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        with self.lock, open(self.out, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Recorder(out), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()

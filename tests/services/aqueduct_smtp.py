"""An aiosmtpd handler for Aqueduct's tests: keeps every message it accepts
and lets a test script failures.

    python -m aiosmtpd -n -l 127.0.0.1:PORT -c aqueduct_smtp.Keeper DIR

(with this directory on PYTHONPATH). Each accepted message is stored in the
Maildir DIR/maildir and, decoded, as one JSON line in DIR/messages.jsonl
(to, subject, message_id, from, reply_to, list_unsubscribe, text, html,
attachments: content type, file name and base64 of the decoded bytes), so
a test reads it back without a MIME parser of its own.

- a recipient containing "reject" is refused with 550 (permanent);
- a recipient containing "tempfail" is refused with 451 (temporary);
- with AQ_SMTP_STOP_AFTER=N the server accepts N messages and dies
  (without answering) when the next one arrives: an SMTP server going
  down mid-batch;
- with AQ_SMTP_MAILDIR_ONLY=1 only the Maildir is written (the benchmark
  counts its files).
"""

import base64
import json
import mailbox
import os
from email import policy
from email.parser import BytesParser


class Keeper:
    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.maildir = mailbox.Maildir(os.path.join(directory, "maildir"), create=True)
        self.log = os.path.join(directory, "messages.jsonl")
        self.accepted = 0
        self.maildir_only = os.environ.get("AQ_SMTP_MAILDIR_ONLY", "") == "1"
        stop = os.environ.get("AQ_SMTP_STOP_AFTER", "")
        self.stop_after = int(stop) if stop else None

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Keeper needs exactly one argument: the directory")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if "tempfail" in address:
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stop_after is not None and self.accepted >= self.stop_after:
            os._exit(0)
        raw = envelope.original_content or envelope.content
        self.maildir.add(raw)
        if self.maildir_only:
            return "250 Message accepted for delivery"
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "rcpt_tos": list(envelope.rcpt_tos),
            "to": str(msg.get("To", "")),
            "from": str(msg.get("From", "")),
            "reply_to": str(msg.get("Reply-To", "")),
            "subject": str(msg.get("Subject", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "list_unsubscribe": str(msg.get("List-Unsubscribe", "")),
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
            "raw": raw.decode("utf-8", "replace"),
            "attachments": [
                {
                    "content_type": part.get_content_type(),
                    "filename": part.get_filename() or "",
                    "data_b64": base64.b64encode(
                        part.get_payload(decode=True) or b""
                    ).decode("ascii"),
                }
                for part in msg.iter_attachments()
            ]
            if msg.is_multipart()
            else [],
        }
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.accepted += 1
        return "250 Message accepted for delivery"

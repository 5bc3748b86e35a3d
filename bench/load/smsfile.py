"""An SMS backend for the load scenario and the fault script: each message is appended as one line
``phone<TAB>text`` to the file named by ``LOAD_SMS_FILE``, so that the load clients can read a
resident's login code (as the resident reads the phone) and the fault script can count the messages
sent per notification. Appends of one short line are atomic across processes (O_APPEND)."""

from __future__ import annotations

import os

from tongxin.core.sms import SmsBackend


class FileSmsBackend(SmsBackend):
    def send(self, *, phone: str, text: str) -> None:
        line = (phone + "\t" + " ".join(text.split()) + "\n").encode()
        fd = os.open(os.environ["LOAD_SMS_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

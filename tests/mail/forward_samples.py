"""Messages as members' mail programs forward them, for the forward/BCC tests: inline
forwards as Gmail, Outlook (new, old, German), Apple Mail and Thunderbird write them, each
forwarding Anna's message of 4 March 2025, 15:15 in Berlin (14:15 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

ORIGINAL_AT = datetime(2025, 3, 4, 14, 15, tzinfo=UTC)
ANNA = "anna.mueller@mueller.test"

GMAIL = f"""FYI, see below.

---------- Forwarded message ---------
From: Anna Müller <{ANNA}>
Date: Tue, Mar 4, 2025 at 3:15 PM
Subject: Angebot für Q2
To: Rep Acme <rep@acme.test>


Können Sie bis Freitag liefern?

Anna
"""

GMAIL_HTML = f"""<div dir="ltr">FYI, see below.<br><br><div class="gmail_quote"><div dir="ltr" \
class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" \
dir="auto">Anna Müller</strong> <span dir="auto">&lt;<a href="mailto:{ANNA}">{ANNA}</a>&gt;</span><br>\
Date: Tue, Mar 4, 2025 at 3:15 PM<br>Subject: Angebot für Q2<br>To: Rep Acme &lt;<a \
href="mailto:rep@acme.test">rep@acme.test</a>&gt;<br></div><br><br><div dir="ltr">Können Sie bis \
Freitag liefern?<div><br></div><div>Anna</div></div></div></div>
"""

OUTLOOK = f"""Please log this one.

________________________________
From: Anna Müller <{ANNA}>
Sent: Tuesday, March 4, 2025 3:15 PM
To: Rep Acme <rep@acme.test>
Cc: Bob Buyer <bob@mueller.test>
Subject: Angebot für Q2

Können Sie bis Freitag liefern?

Anna
"""

OUTLOOK_OLD = f"""-----Original Message-----
From: Müller, Anna [mailto:{ANNA}]
Sent: Tuesday, March 04, 2025 3:15 PM
To: 'Rep Acme'; Other Person <other@mueller.test>
Subject: Angebot für Q2

Können Sie bis Freitag liefern?
"""

OUTLOOK_GERMAN = f"""Zur Info.

________________________________
Von: Anna Müller <{ANNA}>
Gesendet: Dienstag, 4. März 2025 15:15
An: Rep Acme <rep@acme.test>
Betreff: Angebot für Q2

Können Sie bis Freitag liefern?
"""

APPLE = f"""Logging this.

Begin forwarded message:

From: Anna Müller <{ANNA}>
Subject: Angebot für Q2
Date: 4 March 2025 at 15:15:00 GMT+1
To: Rep Acme <rep@acme.test>

Können Sie bis Freitag liefern?

Anna
"""

THUNDERBIRD = f"""

-------- Forwarded Message --------
Subject: 	Angebot für Q2
Date: 	Tue, 4 Mar 2025 15:15:00 +0100
From: 	Anna Müller <{ANNA}>
To: 	rep@acme.test

Können Sie bis Freitag liefern?
"""

QUOTED = f"""See the thread.

> ---------- Forwarded message ---------
> *From:* Anna Müller <{ANNA}>
> *Date:* Tue, Mar 4, 2025 at 3:15 PM
> *Subject:* Angebot für Q2
> *To:* Rep Acme <rep@acme.test>
>
> Können Sie bis Freitag liefern?
"""

INLINE = {
    "gmail": GMAIL,
    "outlook": OUTLOOK,
    "outlook-old": OUTLOOK_OLD,
    "outlook-german": OUTLOOK_GERMAN,
    "apple-mail": APPLE,
    "thunderbird": THUNDERBIRD,
    "quoted-bold": QUOTED,
}


def mail(
    *,
    sender: str,
    to: str,
    subject: str = "Angebot für Q2",
    body: str = "Hello",
    html: str | None = None,
    message_id: str,
    date: str = "Thu, 06 Mar 2025 09:00:00 +0100",
    cc: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = f"<{message_id}>"
    if html is None:
        msg.set_content(body)
    else:
        msg.set_content(html, subtype="html")
    return msg


def inline_forward(body: str, *, member: str, to: str, message_id: str = "fwd-1@acme.test"):
    return mail(
        sender=member, to=to, subject="Fwd: Angebot für Q2", body=body, message_id=message_id
    )


def attached_forward(*, member: str, to: str, original_sender: str = ANNA) -> EmailMessage:
    """A forward "as attachment" (message/rfc822), as Outlook and Thunderbird can send it."""
    original = mail(
        sender=f"Anna Müller <{original_sender}>",
        to=member,
        body="Können Sie bis Freitag liefern?",
        message_id="original-1@mueller.test",
        date="Tue, 04 Mar 2025 15:15:00 +0100",
    )
    outer = mail(
        sender=member,
        to=to,
        subject="Fwd: Angebot für Q2",
        body="Forwarding as an attachment.",
        message_id="fwd-attached-1@acme.test",
    )
    outer.add_attachment(original)
    return outer

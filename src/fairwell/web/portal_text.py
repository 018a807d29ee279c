"""The portal's words in each letter language (en, de), and dates as a reader writes them."""

from __future__ import annotations

from datetime import datetime

LANGUAGES = ("en", "de")

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your application",
        "hello": "Hello {first_name}",
        "intro": "This page is about your application for {job}. Only you have this link.",
        "letter": "The letter we sent you",
        "no_letter": "Your letter has not been sent yet.",
        "next": "What you could do next",
        "next_help": "Tick what you have done. Your ticks are stored only if you save them.",
        "save_ticks": "Save my ticks",
        "saved_ticks": "Your ticks are saved.",
        "actions": "What you can do here",
        "ask": "Ask for more feedback",
        "consent": "Keep me on file",
        "download": "Download my data",
        "delete": "Delete my data",
        "not_applied": "I didn't apply — remove me",
        "back": "Back to your page",
        "ask_help": "Write what you would like to know. A hiring manager answers by letter.",
        "ask_label": "Your question",
        "ask_default": "Hello,\n\nthank you for your letter. Could you tell me more about why my "
        "application was not successful, and what I could improve for a similar role?\n\n"
        "Kind regards",
        "ask_send": "Send my question",
        "asked": "Your question is recorded. You can expect an answer by {date}.",
        "ask_open": "You asked on {asked}. Your question is open: we will answer by {date}. "
        "You can ask again once it is answered.",
        "ask_empty": "Please write your question first.",
        "ask_too_long": "Your question is too long: please keep it under {max} characters "
        "(it has {length}). What you wrote is still below.",
        "consent_offer": "We would keep your application on file until {date}, only to "
        "contact you about other roles at {org} that match your experience. You can "
        "withdraw this at any time on this page.",
        "consent_give": "Keep me on file until {date}",
        "consent_active": "You agreed on {given}. We keep your application on file until "
        "{date}, only to contact you about other roles that match your experience.",
        "consent_withdraw": "Withdraw my consent",
        "consent_given": "Thank you. We keep your application on file until {date}.",
        "consent_withdrawn": "Your consent is withdrawn.",
        "consent_renewed": "Thank you. We now keep your application on file until {date}.",
        "renew_title": "Your data on file",
        "renew_help": "We keep your application on file until {date}. If you do nothing, "
        "we delete it after that date.",
        "renew_keep": "Keep my data until {date}",
        "renew_delete": "Delete my data now",
        "download_help": "A file (JSON) with everything we hold about you: your "
        "applications, letters, feedback, consents, requests and the log entries about "
        "your data.",
        "download_send": "Download my data",
        "delete_help": "We delete your name, address, applications, letters, feedback and "
        "requests. This cannot be undone, and this link stops working.",
        "delete_confirm": "I understand that my data will be deleted",
        "delete_send": "Delete my data",
        "deleted": "Your data has been deleted. This link no longer works.",
        "delete_pending": "We have received your request and will complete it by {date}.",
        "not_applied_help": "Someone recommended you for {job}, but you did not apply. We "
        "delete everything we hold about you.",
        "not_applied_send": "Remove me",
        "expired_title": "This link has expired",
        "invalid_title": "This link does not work",
        "fresh_help": "Enter the address our letter was sent to, and we will send a new "
        "link to it.",
        "email": "Email address",
        "fresh_send": "Send me a new link",
        "fresh_sent": "If this address belongs to an application with us, we have sent a new "
        "link to it. Please check your inbox.",
        "too_many": "Too many requests. Please try again in an hour.",
        "form_used": "This form was already sent, or it is too old. Go back to your page and "
        "try again.",
        "problem": "That did not work",
    },
    "de": {
        "title": "Ihre Bewerbung",
        "hello": "Guten Tag {full_name}",
        "intro": "Diese Seite betrifft Ihre Bewerbung als {job}. Nur Sie haben diesen Link.",
        "letter": "Unser Schreiben an Sie",
        "no_letter": "Ihr Schreiben wurde noch nicht verschickt.",
        "next": "Was Sie als Nächstes tun könnten",
        "next_help": "Haken Sie ab, was Sie erledigt haben. Ihre Haken werden nur "
        "gespeichert, wenn Sie sie speichern.",
        "save_ticks": "Meine Haken speichern",
        "saved_ticks": "Ihre Haken sind gespeichert.",
        "actions": "Was Sie hier tun können",
        "ask": "Mehr Feedback erbitten",
        "consent": "Meine Bewerbung aufbewahren",
        "download": "Meine Daten herunterladen",
        "delete": "Meine Daten löschen",
        "not_applied": "Ich habe mich nicht beworben — bitte entfernen",
        "back": "Zurück zu Ihrer Seite",
        "ask_help": "Schreiben Sie, was Sie wissen möchten. Eine Führungskraft antwortet "
        "Ihnen schriftlich.",
        "ask_label": "Ihre Frage",
        "ask_default": "Guten Tag,\n\nvielen Dank für Ihr Schreiben. Könnten Sie mir bitte "
        "genauer sagen, warum meine Bewerbung nicht erfolgreich war und was ich für eine "
        "ähnliche Stelle verbessern könnte?\n\nMit freundlichen Grüßen",
        "ask_send": "Frage senden",
        "asked": "Ihre Frage ist erfasst. Sie erhalten eine Antwort bis zum {date}.",
        "ask_open": "Sie haben am {asked} gefragt. Ihre Frage ist offen: Wir antworten bis "
        "zum {date}. Sie können erneut fragen, sobald sie beantwortet ist.",
        "ask_empty": "Bitte schreiben Sie zuerst Ihre Frage.",
        "ask_too_long": "Ihre Frage ist zu lang: bitte weniger als {max} Zeichen (jetzt "
        "{length}). Ihr Text steht weiter unten.",
        "consent_offer": "Wir würden Ihre Bewerbung bis zum {date} aufbewahren, nur um Sie "
        "auf andere passende Stellen bei {org} anzusprechen. Sie können dies jederzeit auf "
        "dieser Seite widerrufen.",
        "consent_give": "Bis zum {date} aufbewahren",
        "consent_active": "Sie haben am {given} zugestimmt. Wir bewahren Ihre Bewerbung bis "
        "zum {date} auf, nur um Sie auf andere passende Stellen anzusprechen.",
        "consent_withdraw": "Einwilligung widerrufen",
        "consent_given": "Vielen Dank. Wir bewahren Ihre Bewerbung bis zum {date} auf.",
        "consent_withdrawn": "Ihre Einwilligung ist widerrufen.",
        "consent_renewed": "Vielen Dank. Wir bewahren Ihre Bewerbung nun bis zum {date} auf.",
        "renew_title": "Ihre aufbewahrten Daten",
        "renew_help": "Wir bewahren Ihre Bewerbung bis zum {date} auf. Wenn Sie nichts tun, "
        "löschen wir sie nach diesem Datum.",
        "renew_keep": "Meine Daten bis zum {date} aufbewahren",
        "renew_delete": "Meine Daten jetzt löschen",
        "download_help": "Eine Datei (JSON) mit allem, was wir über Sie speichern: "
        "Bewerbungen, Schreiben, Feedback, Einwilligungen, Anfragen und die Protokolleinträge "
        "zu Ihren Daten.",
        "download_send": "Meine Daten herunterladen",
        "delete_help": "Wir löschen Ihren Namen, Ihre Adresse, Bewerbungen, Schreiben, Feedback "
        "und Anfragen. Das lässt sich nicht rückgängig machen, und dieser Link funktioniert "
        "danach nicht mehr.",
        "delete_confirm": "Ich verstehe, dass meine Daten gelöscht werden",
        "delete_send": "Meine Daten löschen",
        "deleted": "Ihre Daten wurden gelöscht. Dieser Link funktioniert nicht mehr.",
        "delete_pending": "Wir haben Ihre Anfrage erhalten und erledigen sie bis zum {date}.",
        "not_applied_help": "Jemand hat Sie für die Stelle {job} empfohlen, aber Sie haben sich "
        "nicht beworben. Wir löschen alles, was wir über Sie speichern.",
        "not_applied_send": "Bitte entfernen",
        "expired_title": "Dieser Link ist abgelaufen",
        "invalid_title": "Dieser Link funktioniert nicht",
        "fresh_help": "Geben Sie die Adresse ein, an die unser Schreiben ging; wir schicken "
        "Ihnen einen neuen Link dorthin.",
        "email": "E-Mail-Adresse",
        "fresh_send": "Neuen Link senden",
        "fresh_sent": "Wenn diese Adresse zu einer Bewerbung bei uns gehört, haben wir einen "
        "neuen Link dorthin geschickt. Bitte sehen Sie in Ihrem Posteingang nach.",
        "too_many": "Zu viele Anfragen. Bitte versuchen Sie es in einer Stunde erneut.",
        "form_used": "Dieses Formular wurde schon gesendet oder ist zu alt. Gehen Sie zurück "
        "zu Ihrer Seite und versuchen Sie es erneut.",
        "problem": "Das hat nicht geklappt",
    },
}

# A referred or sourced person did not apply: the pages they read say "your details", never
# "your application" (the letters do the same, see guard/applied_wording.py).
NOT_APPLIED_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your details with us",
        "intro": "This page is about the details we hold about you for {job}. Only you have "
        "this link.",
        "ask_default": "Hello,\n\nthank you for your letter. Could you tell me more about "
        "why I was put forward for this role and what you hold about me?\n\nKind regards",
        "consent_offer": "We would keep your details on file until {date}, only to contact "
        "you about roles at {org} that match your experience. You can withdraw this at any "
        "time on this page.",
        "consent_active": "You agreed on {given}. We keep your details on file until {date}, "
        "only to contact you about roles that match your experience.",
        "consent_given": "Thank you. We keep your details on file until {date}.",
        "consent_renewed": "Thank you. We now keep your details on file until {date}.",
        "renew_help": "We keep your details on file until {date}. If you do nothing, we "
        "delete them after that date.",
        "download_help": "A file (JSON) with everything we hold about you: the roles you were "
        "put forward for, letters, consents, requests and the log entries about your data.",
        "delete_help": "We delete your name, address, the roles you were put forward for, "
        "letters and requests. This cannot be undone, and this link stops working.",
    },
    "de": {
        "title": "Ihre Angaben bei uns",
        "intro": "Diese Seite betrifft Ihre Angaben, die wir zur Stelle als {job} haben. Nur "
        "Sie haben diesen Link.",
        "consent": "Meine Angaben aufbewahren",
        "ask_default": "Guten Tag,\n\nvielen Dank für Ihr Schreiben. Könnten Sie mir bitte "
        "genauer sagen, warum ich für diese Stelle vorgeschlagen wurde und was Sie über mich "
        "speichern?\n\nMit freundlichen Grüßen",
        "consent_offer": "Wir würden Ihre Angaben bis zum {date} aufbewahren, nur um Sie auf "
        "passende Stellen bei {org} anzusprechen. Sie können dies jederzeit auf dieser Seite "
        "widerrufen.",
        "consent_active": "Sie haben am {given} zugestimmt. Wir bewahren Ihre Angaben bis zum "
        "{date} auf, nur um Sie auf passende Stellen anzusprechen.",
        "consent_given": "Vielen Dank. Wir bewahren Ihre Angaben bis zum {date} auf.",
        "consent_renewed": "Vielen Dank. Wir bewahren Ihre Angaben nun bis zum {date} auf.",
        "renew_help": "Wir bewahren Ihre Angaben bis zum {date} auf. Wenn Sie nichts tun, "
        "löschen wir sie nach diesem Datum.",
        "download_help": "Eine Datei (JSON) mit allem, was wir über Sie speichern: die Stellen, "
        "für die Sie vorgeschlagen wurden, Schreiben, Einwilligungen, Anfragen und die "
        "Protokolleinträge zu Ihren Daten.",
        "delete_help": "Wir löschen Ihren Namen, Ihre Adresse, die Stellen, für die Sie "
        "vorgeschlagen wurden, Schreiben und Anfragen. Das lässt sich nicht rückgängig machen, "
        "und dieser Link funktioniert danach nicht mehr.",
    },
}


def texts(lang: str, *, applied: bool = True) -> dict[str, str]:
    """The portal's words in ``lang``; for someone who did not apply, without "application"."""
    return TEXT[lang] if applied else {**TEXT[lang], **NOT_APPLIED_TEXT[lang]}


def language(locale: str | None) -> str:
    return locale if locale in LANGUAGES else "en"


def from_header(accept_language: str | None) -> str:
    """The first of our languages the browser asks for; English otherwise."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def long_date(moment: datetime, lang: str) -> str:
    month = _MONTHS[language(lang)].split()[moment.month - 1]
    if lang == "de":
        return f"{moment.day}. {month} {moment.year}"
    return f"{moment.day} {month} {moment.year}"

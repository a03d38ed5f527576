#!/usr/bin/env python3
"""Writes the webhook fixtures: requests in the providers' documented formats, signed
with the test secrets below exactly as the providers sign them. Signatures are computed
here, independently of the Rust code that verifies them. Re-run after editing:
    python3 webhook-fixtures/generate.py
"""
import base64, hashlib, hmac, json, os, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLIC_URL = "https://raabta.test"
TWILIO_TOKEN = "twilio-test-auth-token"
TWILIO_FROM = "whatsapp:+14155238886"
META_SECRET = "meta-test-app-secret"
META_PHONE_ID = "106540352242922"
TG_SECRET = "telegram-test-secret"
PARENT = "923001110001"


def write(provider, name, request_line, headers, body: bytes):
    os.makedirs(os.path.join(HERE, provider), exist_ok=True)
    head = request_line + "\n" + "".join(f"{k}: {v}\n" for k, v in headers) + "\n"
    with open(os.path.join(HERE, provider, name + ".http"), "wb") as f:
        f.write(head.encode() + body)


def twilio(name, params):
    url = PUBLIC_URL + "/webhooks/twilio"
    data = url + "".join(k + v for k, v in sorted(params))
    sig = base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()
    body = urllib.parse.urlencode(params).encode()
    write("twilio", name, "POST /webhooks/twilio",
          [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", sig)], body)


base = [("AccountSid", "ACtest0000000000000000000000000000"), ("To", TWILIO_FROM),
        ("From", "whatsapp:+" + PARENT), ("WaId", PARENT), ("ProfileName", "Imran Khan"),
        ("SmsStatus", "received"), ("ApiVersion", "2010-04-01")]
twilio("text", base + [("MessageSid", "SMtext0001"), ("SmsMessageSid", "SMtext0001"), ("Body", "Assalam o alaikum"), ("NumMedia", "0"), ("MessageType", "text")])
twilio("text-urdu", base + [("MessageSid", "SMtext0002"), ("Body", "فیس کتنی ہے؟ ۳ بچے"), ("NumMedia", "0"), ("MessageType", "text")])
twilio("image", base + [("MessageSid", "SMimg0001"), ("Body", "medical certificate"), ("NumMedia", "1"),
       ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/ACtest/Messages/SMimg0001/Media/ME0001"),
       ("MediaContentType0", "image/jpeg"), ("MessageType", "image")])
twilio("document", base + [("MessageSid", "SMdoc0001"), ("Body", ""), ("NumMedia", "1"),
       ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/ACtest/Messages/SMdoc0001/Media/ME0002"),
       ("MediaContentType0", "application/pdf"), ("MessageType", "document")])
twilio("button", base + [("MessageSid", "SMbtn0001"), ("Body", "Approve"), ("ButtonText", "Approve"),
       ("ButtonPayload", "consent.approve"), ("NumMedia", "0"), ("MessageType", "button")])
twilio("location", base + [("MessageSid", "SMloc0001"), ("Body", ""), ("Latitude", "33.6844"), ("Longitude", "73.0479"),
       ("NumMedia", "0"), ("MessageType", "location")])
status_base = [("AccountSid", "ACtest0000000000000000000000000000"), ("From", TWILIO_FROM), ("To", "whatsapp:+" + PARENT),
               ("MessageSid", "SMout0001"), ("ApiVersion", "2010-04-01"), ("ChannelPrefix", "whatsapp")]
for st in ["sent", "delivered", "read"]:
    twilio("status-" + st, status_base + [("MessageStatus", st), ("SmsStatus", st)])
twilio("status-failed-63016", status_base + [("MessageStatus", "failed"), ("SmsStatus", "failed"), ("ErrorCode", "63016")])


def meta(name, value):
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"value": dict({"messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "15550783881", "phone_number_id": META_PHONE_ID}}, **value),
         "field": "messages"}]}]}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    sig = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
    write("meta", name, "POST /webhooks/meta", [("Content-Type", "application/json"), ("X-Hub-Signature-256", sig)], body)


contact = [{"profile": {"name": "Imran Khan"}, "wa_id": PARENT}]
def msg(mid, kind, **extra):
    return dict({"from": PARENT, "id": mid, "timestamp": "1763971200", "type": kind}, **extra)

meta("text", {"contacts": contact, "messages": [msg("wamid.TEXT1", "text", text={"body": "Assalam o alaikum"})]})
meta("image", {"contacts": contact, "messages": [msg("wamid.IMG1", "image", image={"caption": "medical certificate", "mime_type": "image/jpeg", "sha256": "a" * 64, "id": "1003383421387256"})]})
meta("document", {"contacts": contact, "messages": [msg("wamid.DOC1", "document", document={"filename": "certificate.pdf", "mime_type": "application/pdf", "sha256": "b" * 64, "id": "1003383421387257"})]})
meta("button-reply", {"contacts": contact, "messages": [msg("wamid.BTN1", "interactive", interactive={"type": "button_reply", "button_reply": {"id": "menu.fees", "title": "Fees"}})]})
meta("list-reply", {"contacts": contact, "messages": [msg("wamid.LST1", "interactive", interactive={"type": "list_reply", "list_reply": {"id": "child.2", "title": "Bilal", "description": "Grade 3"}})]})
meta("template-button", {"contacts": contact, "messages": [msg("wamid.TPL1", "button", context={"from": "15550783881", "id": "wamid.OUT1"}, button={"payload": "consent.approve", "text": "Approve"})]})
meta("location", {"contacts": contact, "messages": [msg("wamid.LOC1", "location", location={"latitude": 33.6844, "longitude": 73.0479, "name": "School"})]})
meta("contacts", {"contacts": contact, "messages": [msg("wamid.CON1", "contacts", contacts=[{"name": {"formatted_name": "Sana"}, "phones": [{"phone": "+92 301 1110002"}]}])]})
meta("reaction", {"contacts": contact, "messages": [msg("wamid.REA1", "reaction", reaction={"message_id": "wamid.OUT1", "emoji": "👍"})]})
meta("bsuid-text", {"contacts": [{"profile": {"name": "Hidden Number"}, "user_id": "PK.1502576394655843"}],
                    "messages": [{"from_user_id": "PK.1502576394655843", "id": "wamid.BSU1", "timestamp": "1763971200", "type": "text", "text": {"body": "salam"}}]})
meta("batch", {"contacts": contact + [{"profile": {"name": "Sana Imran"}, "wa_id": "923011110002"}],
               "messages": [msg("wamid.BAT1", "text", text={"body": "fees"}),
                            dict(msg("wamid.BAT2", "text", text={"body": "leave"}), **{"from": "923011110002"}),
                            msg("wamid.BAT3", "text", text={"body": "menu"})]})
def status(sid, st, **extra):
    return dict({"id": sid, "status": st, "timestamp": "1763971300", "recipient_id": PARENT}, **extra)
meta("status-sent", {"statuses": [status("wamid.OUT1", "sent")]})
meta("status-delivered", {"statuses": [status("wamid.OUT1", "delivered")]})
meta("status-read", {"statuses": [status("wamid.OUT1", "read")]})
meta("status-failed-131047", {"statuses": [status("wamid.OUT2", "failed", errors=[{"code": 131047, "title": "Re-engagement message", "message": "More than 24 hours have passed since the recipient last replied to the sender number."}])]})


def telegram(name, update):
    body = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
    write("telegram", name, "POST /webhooks/telegram/{route}",
          [("Content-Type", "application/json"), ("X-Telegram-Bot-Api-Secret-Token", TG_SECRET)], body)


user = {"id": 5550001, "is_bot": False, "first_name": "Imran", "language_code": "ur"}
chat = {"id": 5550001, "first_name": "Imran", "type": "private"}
telegram("text", {"update_id": 900001, "message": {"message_id": 11, "from": user, "chat": chat, "date": 1763971200, "text": "Assalam o alaikum"}})
telegram("photo", {"update_id": 900002, "message": {"message_id": 12, "from": user, "chat": chat, "date": 1763971201, "caption": "certificate",
          "photo": [{"file_id": "AgAC-small", "file_unique_id": "s1", "width": 90, "height": 67, "file_size": 1200},
                    {"file_id": "AgAC-large", "file_unique_id": "l1", "width": 1280, "height": 960, "file_size": 98000}]}})
telegram("document", {"update_id": 900003, "message": {"message_id": 13, "from": user, "chat": chat, "date": 1763971202,
          "document": {"file_name": "certificate.pdf", "mime_type": "application/pdf", "file_id": "BQAC-doc", "file_unique_id": "d1", "file_size": 52000}}})
telegram("callback", {"update_id": 900004, "callback_query": {"id": "4382bfdwdsb323b2d9", "from": user, "chat_instance": "-1", "data": "menu.fees",
          "message": {"message_id": 10, "from": {"id": 123456789, "is_bot": True, "first_name": "School Bot"}, "chat": chat, "date": 1763971100, "text": "Menu"}}})
telegram("edited", {"update_id": 900005, "edited_message": {"message_id": 11, "from": user, "chat": chat, "date": 1763971200, "edit_date": 1763971260, "text": "Assalam o alaikum!"}})
telegram("location", {"update_id": 900006, "message": {"message_id": 14, "from": user, "chat": chat, "date": 1763971203, "location": {"latitude": 33.6844, "longitude": 73.0479}}})

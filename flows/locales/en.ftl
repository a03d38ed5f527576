# Raabta's words in English. Keys are used by flows/*.yaml and the engine; every key
# must exist in en, ur and ar (`raabta flows check`).

## Engine: commands, errors, re-prompts
yes = Yes
no = No
error-generic = Sorry, something went wrong on our side. Please try again, or type "office" to reach the school office.
error-handoff = Sorry, I could not continue. I have passed your conversation to the school office; someone will reply here.
cancelled = Cancelled.
thanks-reply = You are welcome!
thanks-waiting = You are welcome! I am still waiting for your answer to the question above.
greeting-in-request = Hello! We are in the middle of a request: please answer the question below, or type "menu" to leave it.
help-unknown = To use this service you need the access code the school gave you. Type the 8-character code, or "office" to reach the school office.
help-guardian = You can type: "menu" for the options, "fees", "leave", "attendance", "back" to go back one question, "cancel" to drop a request, "language" to change language, "stop" to pause reminders, or "office" to talk to the school office.
help-teacher = You can type: "menu" for the options, "attendance" to mark your class, "back" to go back one question, "cancel" to drop a request, "language" to change language, or "office" to talk to the school office.
language-set = I will reply in English from now on.
stopped = Done: you will not receive reminders any more. Important messages about your children still come. Type "start" to receive reminders again.
started = Reminders are on again.
handoff-requested = I have asked the school office to reply to you here. Write your question; staff answer during office hours. To come back to the bot at any time, type "menu".
not-allowed = Sorry, that is not available to you.
loop-handoff = We seem to be going round in circles. I have passed your conversation to the school office; someone will reply here.
choice-expired = That option has expired. Here is the current question:
invalid-choice = Please choose one of the options (you can reply with its number).
invalid-text = Please type your answer.
text-too-short = That is a little short. Please write a few more words.
text-too-long = That is too long. Please keep it shorter.
invalid-number = Please reply with a number.
number-out-of-range = That number is not in the list.
invalid-numbers = Please reply with numbers from the list, for example: 3 7 12 (or 0 if nobody is absent).
invalid-date = I could not read that date. Please write it like 5/12 or "5 Dec", or "today", "tomorrow".
date-in-past = That date has passed. Please give today or a later date.
date-range-inverted = The last day is before the first day. Please write the first day, then the last, like: 5/12 to 7/12.
date-range-too-long = That is more than two months. For a long absence please talk to the school office.
need-photo = Please send a photo.
need-document = Please send a photo or a PDF, or type "skip".
invalid-code-format = An access code has 8 letters and numbers, like K7M2-Q9XD.

office-hours = Office hours: { $hours }.
help-handoff = The school office has your conversation and will answer here. Type "menu" to come back to the bot, or "cancel" to withdraw your request to the office.
handoff-ack = The office has your message and will answer here. Type "menu" to come back to the bot.
handoff-withdrawn = OK, you are back with the bot; your request to the office is withdrawn.
handoff-released = The office has not taken this up yet, so you are back with the bot. Your messages are kept and staff can still reply here.
handoff-draft-kept = What you had entered so far is kept: staff can see it, and you can go on with it when you come back to the bot.
draft-continue = Let us go on with your unfinished request.
went-back = OK, one question back.
nothing-back = There is no earlier question here.
cancel-confirm = Cancel this request? What you have entered will be lost.
cancel-kept = OK, we go on.
confirmation-lapsed = Your earlier request was waiting for a confirmation for too long, so it was not sent. Please start it again from the menu if you still need it.
interrupt-note = A message from the school first; your request continues afterwards.
answer-before-question = Your last message was sent before the question above, so I did not take it as the answer. Please answer the question above.
retry-stuck = For example: { $example }. What you have entered so far is kept; you can also go to the menu or ask the office.
escape-skip = Skip
escape-menu = Menu
escape-office = Office
example-choice = tap one of the options, or type its number
example-yes-no = "yes" or "no"
example-text = a few words
example-number = a number like 3
example-numbers = 3 7 12, or 0 for none
example-date = 5/12, "5 Dec" or "tomorrow"
example-date-range = "tomorrow", 5/12, or 5/12 to 7/12
example-photo = a photo from your gallery or camera
example-document = a photo or a PDF, or "skip"
example-code = K7M2-Q9XD



switch-offer = Would you like me to reply in English? Type "english".

handoff-left = OK, you are back with the bot. The office still has your messages and may reply here.

yes-no-meant = Please answer "yes" or "no", so there is no doubt.

## Login
login-ask-code = Assalam o alaikum! Welcome to { $school }. Ask me anything about the school, or, if you are a parent here, type the 8-character access code the school gave you.
login-code-format = That does not look like an access code. It has 8 letters and numbers, like K7M2-Q9XD.
login-wrong = Sorry, that code is not valid (it may be mistyped, used already or expired).
login-welcome = Thank you, you are now connected to { $school }.
login-locked = Too many wrong codes. For your safety this chat is locked until { $until } (school time). You can try again then; if you have lost your code, ask the school office for a new one.
login-expired = That code has expired. Please ask the school office for a new one (they can send it to you here), then type it.
login-used = That code has been used already: each code works once. If this is a new phone, ask the school office for a new code.
login-busy = We are getting many login attempts right now. Please try again in a few minutes.
login-handoff = I have asked the school office to help you log in. They will reply here.

## Menus
menu-guardian = How can we help? Choose an option or reply with its number.
menu-fees = Fee balance
menu-leave = Leave request
menu-consent = Consent forms
menu-attendance = Attendance
menu-complaint = Complaint
menu-my-complaints = My complaints
menu-language = Language
menu-office = Talk to the office
menu-teacher = What would you like to do?
menu-mark-attendance = Mark attendance
menu-my-classes = My classes
menu-class-leave = Leave requests
language-ask = Choose your language.
language-en = English
language-ur = اردو
language-ar = العربية
language-ur-latn = Roman Urdu
no-children = We could not find any children linked to you. Please contact the school office.
no-classes = No classes are assigned to you. Please contact the school office.

## Fees
fees-outstanding = { $name }: { $outstanding } outstanding
fees-line = • { $description } ({ $period }): { $amount }, due { $due }{ $overdue ->
    [yes] {" "}(overdue)
   *[no] {""}
}
fees-clear = { $name }: nothing outstanding. Thank you!
fees-payments = Last payments:
fees-payment-line = • { $date }: { $amount } ({ $description })
fees-done = Type "menu" for more options.
fees-done-total = Total due: { $total }.
    Type "menu" for more options.
fees-done-pay = Total due: { $total }.
    How to pay: { $payment }
    Type "menu" for more options.

## Leave
leave-pick-child = Which child is the leave for?
leave-kind = What kind of leave?
leave-sick = Sick
leave-family = Family
leave-religious = Religious
leave-other = Other
leave-dates = Which day or days? For example: "tomorrow", "5/12" or "5/12 to 7/12".
leave-no-school-days = There is no school on any of those days (weekend or school holiday), so no leave is needed. Please give other days.
leave-overlap = Note: there is already a leave request for { $child } on some of these days. If this one is meant to replace it, please tell the office after sending.
leave-reason = Please write the reason in a few words.
leave-attachment = If you have a medical certificate or a letter, send a photo or PDF of it now. Otherwise type "skip".
leave-confirm = Please confirm: { $child } — { $kind ->
    [sick] sick leave
    [family] family leave
    [religious] religious leave
   *[other] leave
} { $single ->
    [true] on { $from }
   *[other] from { $from } to { $to }
} ({ $days ->
    [one] one school day
   *[other] { $days } school days
}). Reason: { $reason }. Attachment: { $attachment ->
    [none] none
   *[other] yes
}. Send it?
leave-submitted = Your leave request has been sent to the school (reference { $reference }). You will hear here when it is decided.
leave-dropped = OK, the leave request was not sent.
leave-expired = The leave request was not confirmed, so it was not sent. Type "leave" to start again.
leave-failed = Sorry, the leave request could not be saved. Please try again or type "office".
leave-decision = Your leave request for { $child } ({ $from } to { $to }) was { $decision ->
    [approved] approved
   *[rejected] not approved
}.{ $note ->
    [none] {""}
   *[other] {" "}Note from the school: { $note }
}

## Attendance
attendance-pick-child = Whose attendance would you like to see?
attendance-summary = { $name }, since { $from }: { $present } present, { $absent } absent, { $late } late, { $excused } excused ({ $days } school days recorded).{ $absent ->
    [0] {""}
   *[other] {" "}Days absent:
}
attendance-absent-day = • { $date }
attendance-nothing = No attendance has been recorded for { $child } in the last 30 days yet.

## Consent
consents-none = There are no consent forms waiting for your answer.
consents-done = That was every consent form waiting for you. Thank you!
consent-ask = Consent form from { $school }: { $title }
    { $description }
    For { $child }. Please answer by { $deadline }. Do you give your consent?
consent-note = Would you like to add a note for the school? Type it, or "skip".
consent-thanks = Thank you, your answer for { $child } is recorded: { $approved ->
    [true] you gave consent
   *[other] you declined
}.
consent-too-late = Sorry, the deadline for "{ $title }" has passed, so the school can no longer accept answers. Please contact the school office.
consent-already = This consent form was already answered. Thank you!
consent-change = You already answered «{ $title }» for { $child }: { $state ->
    [approved] you gave consent
   *[other] you declined
}. Would you like to change your answer? (Possible until { $deadline }.)
consent-kept = OK, your answer stays as it was.
consent-closed = The consent form "{ $title }" for { $child } is closed.
consent-reminder = Reminder: the consent form "{ $title }" for { $child } closes on { $deadline }.

## Complaint
complaint-ask = Please describe your complaint. The school office will read it.
complaint-logged = Thank you. Your complaint is recorded: reference { $reference }. The school office will reply here; you can add to it from "My complaints" in the menu.
complaint-confirm = Send this complaint to the school office?
    «{ $text }»
    Category: { $category_label ->
        [none] not chosen
       *[other] { $category_label }
    }
    Files: { $files ->
        [none] none
       *[other] { $files }
    }
complaint-dropped = Not sent. Type "menu" for the options.

## Teachers
attendance-pick-class = Which class?
attendance-class-list = { $class_name } ({ $count } students):
attendance-student-line = { $n }. { $name }{ $status ->
    [excused] {" "}(on leave)
    [absent] {" "}(absent today)
    [late] {" "}(late today)
   *[other] {""}
}
attendance-ask-absent = Reply with the numbers of the students who are absent today, for example: 3 7 12. For late arrivals write "late" before their numbers: 3 7 late 5. Reply 0 if everyone is present.
attendance-saved = Attendance saved: { $present } present, { $absent_count } absent{ $late_count ->
    [0] {""}
   *[other] , { $late_count } late
}{ $on_leave ->
    [0] {""}
   *[other] , { $on_leave } on leave
}.{ $absent_count ->
    [0] {""}
   *[other] {" "}Absent: { $absent_names }.
}
attendance-already = Today's attendance is already marked: { $was_present } present, { $was_absent } absent. Mark it again?
attendance-kept = OK, today's attendance stays as it was.
my-classes = Your classes:
my-classes-line = • { $label }
class-leave = Pending leave requests in your classes:
class-leave-line = • { $child }: { $kind ->
    [sick] sick leave
    [family] family leave
    [religious] religious leave
   *[other] leave
}, { $from } to { $to }. Reason: { $reason }
class-leave-pick = To approve or reject one, reply with its number (or type "menu").
class-leave-decide = Approve or reject this request?
class-leave-approve = Approve
class-leave-reject = Reject
class-leave-reason = Please write the reason for the rejection; the parent will see it.
class-leave-decided = Done: the parent will be told here.
class-leave-gone = That request has already been decided or withdrawn.
class-leave-none = No pending leave requests in your classes.

# A new chat was linked to the person's account (new_link.yaml).
new-link-ask = Security notice: a new { $channel } account was linked to your account at { $school } on { $time }. If this was you, nothing to do. If it was not you, press "Not me" and we will remove it at once.
new-link-not-me = Not me
new-link-me = It was me
new-link-fine = Thank you. Nothing has changed.
new-link-undone = Done: that { $channel } account is no longer linked to you, your unused access codes are cancelled and the school office has been told. Ask the office for a new code if you need one.
new-link-refused = Only the phone number the school has on record, or a chat of yours linked before that one, can remove it. The school office has been told and will check; type "office" to talk to them.
new-link-gone = That link had already been removed. If something still looks wrong, type "office".

## A photo or PDF at the menu
media-what = Thank you for the file. What is it?
media-receipt = Fee receipt
media-leave = For a leave request
media-other = Something else
media-pick-child = Which child is the receipt for?
media-receipt-sent = I have passed the fee receipt for { $child } to the school office; they will confirm here. Type "menu" for anything else.
media-to-office = I have passed your file to the school office; someone will reply here. Type "menu" for anything else.

## Absence notice
absence-notice = { $child } was marked absent today ({ $day }). If this is a mistake, or the leave was agreed with the school, reply here or type "office". Type "stop" to stop these notices.

## Free text read by the language model (issue 15)
clarify-ask = I am not sure what you need. Is it one of these?
nlu-not-understood = Sorry, I did not understand that. Please choose from the menu.
nlu-stop-hint = If you want to stop reminders, type "stop".

## Complaint threads (issue 16)
complaint-category = What is your complaint about? Choose one, or type "skip".
complaint-files = You can send photos or PDFs about it now (up to 5), or type "skip".
complaint-files-more = Received ({ $file_count }). Send another, or type "done".
complaint-files-full = That is the most files one complaint can carry; the rest were not added.
my-complaints-pick = Your complaints (open, and closed in the last 7 days):
my-complaints-none = You have no open complaints. Type "complaint" to write one.
my-complaint-open = { $reference } is { $status_label }. The school office has not replied yet.
my-complaint-replied = { $reference } is { $status_label }. The school's latest reply:
    «{ $reply }»
my-complaint-closed = { $reference } is closed. You can reopen it if the problem is not solved.
menu-button = Menu
complaint-add-button = Add a message
complaint-reply-button = Reply to the school
complaint-reopen-button = Reopen
complaint-write = Write your message for the school (or send a photo or PDF).
complaint-added = Added to { $reference }. Type "menu" for anything else.
complaint-add-closed = { $reference } is closed, so nothing was added. Type "complaint" to write a new one.
complaint-staff-replied = The school replied about your complaint { $reference }:
    «{ $reply }»
complaint-status-changed = Your complaint { $reference } is now { $status_label }.
complaint-reopened-by-school = The school reopened your complaint { $reference }.
complaint-csat = The school closed your complaint { $reference }: { $reason }
    How satisfied are you with how it was handled?
csat-1 = 1 · Very unhappy
csat-2 = 2 · Unhappy
csat-3 = 3 · Neutral
csat-4 = 4 · Satisfied
csat-5 = 5 · Very satisfied
complaint-csat-comment = Thank you. Anything you would like to add? (Or type "skip".)
complaint-csat-thanks = Thank you for your answer. If the problem is not solved, you can reopen the complaint within 7 days.
complaint-reopened = { $reference } is open again; the school office will look at it.
complaint-reopen-late = { $reference } was closed more than 7 days ago and cannot be reopened. Type "complaint" to write a new one.
complaint-still-open = { $reference } is still open.

## Photo attendance
face-pick-class = Which class is this photo of?
face-looking = Got the photo of { $class_name }. I am looking for the students in it and will send you the list to check in a few seconds. More photos of the class within a minute are added.
face-joined = Added to the photos of { $class_name }: I will send the updated list.
face-off = Photo attendance is not used at this school. Type "attendance" to mark the class by list.
face-proposal = { $class_name }: { $faces } { $faces ->
    [one] face
   *[other] faces
} found, { $present_count } proposed present{ $unmatched ->
    [0] {""}
   *[other] , { $unmatched } matched nobody
}.{ $by_hand ->
    [0] {""}
   *[other] {" "}{ $by_hand } to mark by hand (not ticked).
}
face-student-line = { $present ->
    [yes] ✅
   *[other] ▫️
} { $n }. { $name }{ $why ->
    [no_consent] {" "}(no photo consent)
    [not_enrolled] {" "}(no reference photo)
    [not_seen] {" "}(not seen)
    [unticked] {" "}(unticked)
    [teacher] {" "}(added by you)
   *[other] {""}
}
face-confirm = Save the ticked students as present? Nothing is saved until you do.
face-save = Save
face-change = Change
face-drop = Drop
face-toggle = Send the numbers to tick or untick, for example: 3 7
face-rest = Saved: { $saved } present. The other { $rest_count } ({ $rest_names }): mark them absent, late, or leave them unmarked for now?
face-rest-absent = Absent
face-rest-late = Late
face-rest-leave = Leave unmarked
face-rest-saved = Done: { $marked } marked { $mark ->
    [late] late
   *[other] absent
}. Attendance of { $class_name } is saved.
face-rest-left = Done. The others are left unmarked: mark them later by list ("attendance") or in the admin.
face-all-present = Saved: all { $saved } present in { $class_name }.
face-dropped = Dropped: nothing was saved from the photo.
face-failed = I could not read faces in that photo, so nothing was proposed. Try a photo in good light with faces towards the camera, or type "attendance" to mark by list.
face-stale = That photo list is no longer open (saved or dropped already).

## The enquiry bot
enquiry-answer = { $answer }
enquiry-more = Anything else? Ask away. Type *apply* to leave your details for a call-back, *person* to talk to the office, or your access code if you are a parent at the school.
enquiry-more-quiet = You can ask something else, or type your access code if you are a parent at the school.
enquiry-not-found = I don't have an answer to that in the school's information. Shall I pass your question to the school office?
enquiry-declined = All right.
lead-intro = So that the school office can get back to you, I need a few details.
lead-name = Your name, please?
lead-child = Which class is your child applying for, or how old is your child?
lead-school = Your school's name and city?
lead-language = Which language should the office use with you?
lead-confirm = Please check:
    Name: { $name }
    { $kind ->
        [school] School and city
       *[other] Class or age
    }: { $detail }
    Language: { $lang ->
        [ur] Urdu
        [ar] Arabic
        [ur-Latn] Roman Urdu
       *[other] English
    }
    Shall I send this to the office?
lead-saved = Thank you, { $name }. The school office has your details (reference { $reference }) and will contact you.
lead-dropped = Not sent to the office.
lead-failed = Your details could not be saved just now; I have passed this chat to the school office.
lead-phone = Your WhatsApp number, if you would like the office to reach you there (or "skip")?
lead-phone-bad = That does not look like a phone number. Please type it with the country code, e.g. +92 300 1234567, or "skip".
lead-phone-note = I will send a WhatsApp message to that number to check that it is yours; the office sees it only after you answer it there.
lead-verify-ask = { $school }: someone asked us on our website to contact this WhatsApp number about admissions (reference { $reference }). Was it you?
lead-verify-thanks = Thank you. The school office will contact you on this number.
lead-verify-declined = Thank you for telling us. This number has been removed and will not be contacted.

## Privacy (my data)
privacy-ask = What would you like to do with the personal data the school keeps about you?
privacy-copy-button = A copy of my data
privacy-delete-button = Delete my data
privacy-info-button = How it is used
privacy-info = The school keeps your name, phone number and the details on its roster, your children's school records, and your messages here, only to run the school's service to you. Nothing is sold or shared for advertising. Chat messages are deleted after 90 days (sooner if the school chose), activity logs 90 days. Type "my data" for a copy of your data or to have it deleted.
privacy-confirm-access = The school will prepare a copy of your data (your details, your children's links, messages, leave, consent answers, complaints and attendance) and give it to you. Send the request?
privacy-confirm-erasure = Deleting your data removes your phone number, CNIC, address, your logins on chat and your conversations with the school; you will no longer get the school's messages here. The school keeps its own records (fees, attendance, leave, complaints, consent answers) without your name. An administrator checks the request first. Send it?
privacy-access-recorded = Your request is recorded (reference { $reference }). The school will answer by { $due }.
privacy-erasure-recorded = Your request to delete your data is recorded (reference { $reference }). The school will complete it by { $due }; until then everything works as before.
privacy-already = You already have a request like this waiting (reference { $reference }); the school will answer by { $due }.
privacy-not-sent = Nothing was sent. Type "menu" for the options.
privacy-stranger = This chat keeps only your messages here. If you are a parent at the school, log in with your access code first, then write "my data"; otherwise ask the school office.
privacy-staff = Staff: ask the school's administrator for a copy of your data or its deletion.

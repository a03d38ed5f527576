# رابطہ کے الفاظ اردو میں۔ ہر کلید en، ur اور ar تینوں میں ہونی چاہیے۔

## Engine
yes = جی ہاں
no = نہیں
error-generic = معذرت، ہماری طرف سے کوئی خرابی ہو گئی۔ دوبارہ کوشش کریں، یا اسکول آفس سے بات کے لیے "office" لکھیں۔
error-handoff = معذرت، میں آگے نہیں بڑھ سکا۔ آپ کی بات اسکول آفس کو بھیج دی گئی ہے؛ عملہ یہیں جواب دے گا۔
cancelled = منسوخ کر دیا گیا۔
help-unknown = اس سروس کے لیے اسکول کا دیا ہوا رسائی کوڈ درکار ہے۔ 8 حروف کا کوڈ لکھیں، یا اسکول آفس سے بات کے لیے "office" لکھیں۔
help-guardian = آپ لکھ سکتے ہیں: "menu" اختیارات کے لیے، "fees"، "chutti"، "hazri"، منسوخ کرنے کے لیے "wapas"، زبان بدلنے کے لیے "zaban"، یاددہانیاں روکنے کے لیے "stop"، یا آفس سے بات کے لیے "office"۔
help-teacher = آپ لکھ سکتے ہیں: "menu" اختیارات کے لیے، کلاس کی حاضری کے لیے "hazri"، منسوخ کرنے کے لیے "wapas"، زبان بدلنے کے لیے "zaban"، یا آفس سے بات کے لیے "office"۔
language-set = اب سے میں اردو میں جواب دوں گا۔
stopped = ٹھیک ہے: اب آپ کو یاددہانیاں نہیں آئیں گی۔ بچوں سے متعلق اہم پیغامات آتے رہیں گے۔ دوبارہ شروع کرنے کے لیے "start" لکھیں۔
started = یاددہانیاں دوبارہ شروع ہو گئیں۔
handoff-requested = میں نے اسکول آفس سے کہا ہے کہ آپ کو یہیں جواب دیں۔ اپنا سوال لکھیں؛ عملہ جلد جواب دے گا۔
not-allowed = معذرت، یہ سہولت آپ کے لیے دستیاب نہیں۔
loop-handoff = لگتا ہے ہم ایک ہی جگہ گھوم رہے ہیں۔ آپ کی بات اسکول آفس کو بھیج دی گئی ہے؛ عملہ یہیں جواب دے گا۔
retries-handoff = معذرت، میں سمجھ نہیں سکا۔ آپ کی بات اسکول آفس کو بھیج دی گئی ہے؛ عملہ یہیں جواب دے گا۔
choice-expired = یہ اختیار اب پرانا ہو چکا ہے۔ موجودہ سوال یہ ہے:
invalid-choice = براہ کرم دیے گئے اختیارات میں سے ایک چنیں (آپ اس کا نمبر لکھ سکتے ہیں)۔
invalid-text = براہ کرم اپنا جواب لکھیں۔
text-too-short = یہ کچھ مختصر ہے۔ براہ کرم چند الفاظ مزید لکھیں۔
text-too-long = یہ بہت طویل ہے۔ براہ کرم مختصر لکھیں۔
invalid-number = براہ کرم ایک نمبر لکھیں۔
number-out-of-range = یہ نمبر فہرست میں نہیں ہے۔
invalid-numbers = براہ کرم فہرست کے نمبر لکھیں، مثلاً: 3 7 12 (اگر کوئی غیر حاضر نہیں تو 0)۔
invalid-date = تاریخ سمجھ نہیں آئی۔ اس طرح لکھیں: 5/12 یا "5 دسمبر"، یا "aaj"، "kal"۔
date-in-past = یہ تاریخ گزر چکی ہے۔ آج یا اس کے بعد کی تاریخ دیں۔
date-range-inverted = آخری دن پہلے دن سے پہلے ہے۔ پہلے شروع کا دن، پھر آخری دن لکھیں، جیسے: 5/12 سے 7/12۔
date-range-too-long = یہ دو مہینے سے زیادہ ہے۔ لمبی غیر حاضری کے لیے اسکول آفس سے بات کریں۔
need-photo = براہ کرم تصویر بھیجیں۔
need-document = براہ کرم تصویر یا PDF بھیجیں، یا "skip" لکھیں۔
invalid-code-format = رسائی کوڈ میں 8 حروف اور ہندسے ہوتے ہیں، جیسے K7M2-Q9XD۔

## Login
login-ask-code = السلام علیکم! { $school } میں خوش آمدید۔ براہ کرم اسکول کا دیا ہوا 8 حروف کا رسائی کوڈ لکھیں۔
login-code-format = یہ رسائی کوڈ نہیں لگتا۔ کوڈ میں 8 حروف اور ہندسے ہوتے ہیں، جیسے K7M2-Q9XD۔
login-wrong = معذرت، یہ کوڈ درست نہیں (غلط لکھا گیا، پہلے استعمال ہو چکا یا میعاد ختم ہو چکی)۔
login-welcome = شکریہ، اب آپ { $school } سے منسلک ہیں۔
login-locked = بہت زیادہ غلط کوڈ۔ آپ کی حفاظت کے لیے یہ چیٹ ایک گھنٹے کے لیے بند کر دی گئی ہے۔ اسکول آفس سے نیا کوڈ لیں۔
login-busy = اس وقت بہت زیادہ لاگ اِن کی کوششیں ہو رہی ہیں۔ چند منٹ بعد دوبارہ کوشش کریں۔
login-handoff = میں نے اسکول آفس سے کہا ہے کہ لاگ اِن میں آپ کی مدد کریں۔ وہ یہیں جواب دیں گے۔

## Menus
menu-guardian = ہم آپ کی کیا مدد کر سکتے ہیں؟ ایک اختیار چنیں یا اس کا نمبر لکھیں۔
menu-fees = فیس بقایا
menu-leave = چھٹی کی درخواست
menu-consent = اجازت نامے
menu-attendance = حاضری
menu-complaint = شکایت
menu-language = زبان
menu-office = آفس سے بات
menu-teacher = آپ کیا کرنا چاہیں گے؟
menu-mark-attendance = حاضری لگائیں
menu-my-classes = میری کلاسیں
menu-class-leave = چھٹی کی درخواستیں
language-ask = اپنی زبان چنیں۔
language-en = English
language-ur = اردو
language-ar = العربية
no-children = آپ سے منسلک کوئی بچہ نہیں ملا۔ براہ کرم اسکول آفس سے رابطہ کریں۔
no-classes = آپ کو کوئی کلاس نہیں دی گئی۔ براہ کرم اسکول آفس سے رابطہ کریں۔

## Fees
fees-outstanding = { $name }: { $outstanding } بقایا
fees-line = • { $description } ({ $period }): { $amount }، آخری تاریخ { $due }{ $overdue ->
    [yes] {" "}(تاریخ گزر چکی)
   *[no] {""}
}
fees-clear = { $name }: کوئی بقایا نہیں۔ شکریہ!
fees-payments = آخری ادائیگیاں:
fees-payment-line = • { $date }: { $amount } ({ $description })
fees-done = مزید اختیارات کے لیے "menu" لکھیں۔

## Leave
leave-pick-child = چھٹی کس بچے کے لیے ہے؟
leave-kind = چھٹی کی قسم کیا ہے؟
leave-sick = بیماری
leave-family = خاندانی
leave-religious = مذہبی
leave-other = دیگر
leave-dates = کون سا دن یا دن؟ مثلاً: "kal"، "5/12" یا "5/12 سے 7/12"۔
leave-reason = براہ کرم چند الفاظ میں وجہ لکھیں۔
leave-attachment = اگر آپ کے پاس میڈیکل سرٹیفکیٹ یا خط ہے تو ابھی اس کی تصویر یا PDF بھیجیں۔ ورنہ "skip" لکھیں۔
leave-confirm = تصدیق کریں: { $child } — { $kind ->
    [sick] بیماری کی چھٹی
    [family] خاندانی چھٹی
    [religious] مذہبی چھٹی
   *[other] چھٹی
}، { $from } سے { $to } تک ({ $days } دن)۔ وجہ: { $reason }۔ منسلکہ: { $attachment ->
    [none] کوئی نہیں
   *[other] ہاں
}۔ بھیج دیں؟
leave-submitted = آپ کی چھٹی کی درخواست اسکول کو بھیج دی گئی ہے (حوالہ { $reference })۔ فیصلہ ہونے پر آپ کو یہیں بتایا جائے گا۔
leave-dropped = ٹھیک ہے، چھٹی کی درخواست نہیں بھیجی گئی۔
leave-expired = چھٹی کی درخواست کی تصدیق نہیں ہوئی، اس لیے نہیں بھیجی گئی۔ دوبارہ شروع کرنے کے لیے "chutti" لکھیں۔
leave-failed = معذرت، چھٹی کی درخواست محفوظ نہیں ہو سکی۔ دوبارہ کوشش کریں یا "office" لکھیں۔
leave-decision = { $child } کی چھٹی کی درخواست ({ $from } سے { $to } تک) { $decision ->
    [approved] منظور ہو گئی ہے
   *[rejected] منظور نہیں ہوئی
}۔{ $note ->
    [none] {""}
   *[other] {" "}اسکول کا نوٹ: { $note }
}

## Attendance
attendance-pick-child = آپ کس بچے کی حاضری دیکھنا چاہتے ہیں؟
attendance-summary = { $name }، { $from } سے: { $present } حاضر، { $absent } غیر حاضر، { $late } دیر سے، { $excused } رخصت ({ $days } اسکول کے دن درج)۔{ $absent ->
    [0] {""}
   *[other] {" "}غیر حاضری کے دن:
}
attendance-absent-day = • { $date }

## Consent
consents-none = کوئی اجازت نامہ آپ کے جواب کا منتظر نہیں۔
consents-done = آپ کے تمام زیر التوا اجازت نامے مکمل ہو گئے۔ شکریہ!
consent-ask = { $school } کی طرف سے اجازت نامہ: { $title }
    { $description }
    بچہ: { $child }۔ براہ کرم { $deadline } تک جواب دیں۔ کیا آپ اجازت دیتے ہیں؟
consent-note = کیا آپ اسکول کے لیے کوئی نوٹ لکھنا چاہیں گے؟ لکھیں، یا "skip"۔
consent-thanks = شکریہ، { $child } کے لیے آپ کا جواب درج ہو گیا: { $approved ->
    [true] آپ نے اجازت دی
   *[other] آپ نے انکار کیا
}۔
consent-too-late = معذرت، "{ $title }" کی آخری تاریخ گزر چکی ہے، اس لیے اب جواب قبول نہیں ہو سکتا۔ اسکول آفس سے رابطہ کریں۔
consent-already = اس اجازت نامے کا جواب پہلے ہی دیا جا چکا ہے۔ شکریہ!
consent-closed = { $child } کے لیے اجازت نامہ "{ $title }" بند ہو چکا ہے۔
consent-reminder = یاددہانی: { $child } کے لیے اجازت نامہ "{ $title }" { $deadline } کو بند ہو جائے گا۔

## Complaint
complaint-ask = براہ کرم اپنی شکایت لکھیں۔ اسکول آفس اسے پڑھے گا۔
complaint-logged = شکریہ۔ آپ کی شکایت درج ہو گئی ہے (حوالہ { $reference }) اور اسکول آفس جواب دے گا۔

## Teachers
attendance-pick-class = کون سی کلاس؟
attendance-class-list = { $class_name } ({ $count } طلبہ):
attendance-student-line = { $n }. { $name }
attendance-ask-absent = آج غیر حاضر طلبہ کے نمبر لکھیں، مثلاً: 3 7 12۔ اگر سب حاضر ہیں تو 0 لکھیں۔
attendance-saved = حاضری محفوظ ہو گئی: { $present } حاضر، { $absent_count } غیر حاضر۔
my-classes = آپ کی کلاسیں:
my-classes-line = • { $label }
class-leave = آپ کی کلاسوں کی زیر التوا چھٹی کی درخواستیں:
class-leave-line = • { $child }: { $kind }، { $from } سے { $to }
class-leave-none = آپ کی کلاسوں میں کوئی زیر التوا درخواست نہیں۔

# A new chat was linked to the person's account (new_link.yaml).
new-link-ask = حفاظتی اطلاع: { $time } کو { $school } میں آپ کے اکاؤنٹ سے ایک نیا { $channel } اکاؤنٹ جوڑا گیا۔ اگر یہ آپ تھے تو کچھ کرنے کی ضرورت نہیں۔ اگر یہ آپ نہیں تھے تو "میں نہیں" دبائیں، ہم اسے فوراً ہٹا دیں گے۔
new-link-not-me = میں نہیں
new-link-me = یہ میں تھا/تھی
new-link-fine = شکریہ۔ کچھ تبدیل نہیں ہوا۔
new-link-undone = ہو گیا: وہ { $channel } اکاؤنٹ اب آپ سے جڑا نہیں، آپ کے غیر استعمال شدہ کوڈ منسوخ کر دیے گئے اور اسکول آفس کو بتا دیا گیا ہے۔ نئے کوڈ کے لیے آفس سے رابطہ کریں۔
new-link-refused = اسے صرف اسکول کے ریکارڈ والا فون نمبر، یا اس سے پہلے جڑی ہوئی آپ کی چیٹ ہٹا سکتی ہے۔ اسکول آفس کو بتا دیا گیا ہے اور وہ دیکھ لیں گے؛ ان سے بات کے لیے "office" لکھیں۔
new-link-gone = یہ اکاؤنٹ پہلے ہی ہٹایا جا چکا ہے۔ اگر اب بھی کچھ غلط لگے تو "office" لکھیں۔

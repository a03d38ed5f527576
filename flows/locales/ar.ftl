# كلمات رابطة بالعربية. يجب أن يوجد كل مفتاح في en و ur و ar.

## Engine
yes = نعم
no = لا
error-generic = عذراً، حدث خطأ من جهتنا. حاول مرة أخرى، أو اكتب «موظف» للتواصل مع إدارة المدرسة.
error-handoff = عذراً، لم أستطع المتابعة. حوّلت محادثتك إلى إدارة المدرسة وسيرد عليك أحد الموظفين هنا.
cancelled = تم الإلغاء.
thanks-reply = عفواً!
thanks-waiting = عفواً! ما زلت أنتظر جوابك على السؤال أعلاه.
greeting-in-request = وعليكم السلام! نحن في منتصف طلب: أجب عن السؤال أدناه، أو اكتب «القائمة» لتركه.
help-unknown = تحتاج لاستخدام هذه الخدمة إلى رمز الدخول الذي أعطتك إياه المدرسة. اكتب الرمز المكوّن من 8 خانات، أو «موظف» للتواصل مع الإدارة.
help-guardian = يمكنك كتابة: «القائمة» للخيارات، «الرسوم»، «إجازة»، «الحضور»، «رجوع» للعودة سؤالاً واحداً، «إلغاء» لإلغاء الطلب، «اللغة» لتغيير اللغة، «توقف» لإيقاف التذكيرات، أو «موظف» للتحدث مع الإدارة.
help-teacher = يمكنك كتابة: «القائمة» للخيارات، «الحضور» لتسجيل حضور فصلك، «رجوع» للعودة سؤالاً واحداً، «إلغاء» لإلغاء الطلب، «اللغة» لتغيير اللغة، أو «موظف» للتحدث مع الإدارة.
language-set = سأرد عليك بالعربية من الآن.
stopped = تم: لن تصلك التذكيرات بعد الآن، وستصلك الرسائل المهمة عن أبنائك. اكتب "ابدأ" لتفعيل التذكيرات مرة أخرى.
started = تم تفعيل التذكيرات مرة أخرى.
handoff-requested = طلبت من إدارة المدرسة الرد عليك هنا. اكتب سؤالك؛ يجيب الموظفون خلال ساعات الدوام. للعودة إلى المساعد الآلي في أي وقت اكتب «القائمة».
not-allowed = عذراً، هذه الخدمة غير متاحة لك.
loop-handoff = يبدو أننا ندور في حلقة. حوّلت محادثتك إلى إدارة المدرسة وسيرد عليك أحد الموظفين هنا.
choice-expired = انتهت صلاحية هذا الخيار. هذا هو السؤال الحالي:
invalid-choice = الرجاء اختيار أحد الخيارات (يمكنك الرد برقمه).
invalid-text = الرجاء كتابة إجابتك.
text-too-short = الإجابة قصيرة قليلاً. الرجاء كتابة كلمات أكثر.
text-too-long = الإجابة طويلة جداً. الرجاء الاختصار.
invalid-number = الرجاء الرد برقم.
number-out-of-range = هذا الرقم ليس في القائمة.
invalid-numbers = الرجاء الرد بأرقام من القائمة، مثل: 3 7 12 (أو 0 إذا لم يغب أحد).
invalid-date = لم أفهم التاريخ. اكتبه هكذا: 5/12 أو "5 ديسمبر"، أو "اليوم"، "غداً".
date-in-past = هذا التاريخ مضى. الرجاء إعطاء تاريخ اليوم أو بعده.
date-range-inverted = اليوم الأخير قبل اليوم الأول. اكتب اليوم الأول ثم الأخير، مثل: 5/12 إلى 7/12.
date-range-too-long = هذه المدة أكثر من شهرين. للغياب الطويل تواصل مع إدارة المدرسة.
need-photo = الرجاء إرسال صورة.
need-document = الرجاء إرسال صورة أو ملف PDF، أو اكتب «تخطي».
invalid-code-format = رمز الدخول مكوّن من 8 حروف وأرقام، مثل K7M2-Q9XD.

office-hours = ساعات الدوام: { $hours }.
help-handoff = محادثتك لدى إدارة المدرسة وسيأتيك الرد هنا. اكتب «القائمة» للعودة إلى المساعد الآلي، أو «إلغاء» لسحب طلبك من الإدارة.
handoff-ack = وصلت رسالتك إلى الإدارة وسيأتيك الرد هنا. اكتب «القائمة» للعودة إلى المساعد الآلي.
handoff-withdrawn = حسناً، عدت إلى المساعد الآلي؛ تم سحب طلبك من الإدارة.
handoff-released = لم تتناول الإدارة طلبك بعد، لذا عدت إلى المساعد الآلي. رسائلك محفوظة ويمكن للموظفين الرد عليك هنا.
handoff-draft-kept = ما أدخلته حتى الآن محفوظ: يراه الموظفون، ويمكنك إكماله عند عودتك إلى المساعد الآلي.
draft-continue = لنكمل طلبك غير المكتمل.
went-back = حسناً، لنرجع إلى السؤال السابق.
nothing-back = لا يوجد سؤال قبل هذا.
cancel-confirm = هل تريد إلغاء هذا الطلب؟ سيضيع ما أدخلته.
cancel-kept = حسناً، نكمل.
confirmation-lapsed = طلبك السابق انتظر التأكيد مدة طويلة فلم يُرسل. ابدأه من جديد من القائمة إن كنت ما زلت تحتاجه.
interrupt-note = رسالة من المدرسة أولاً؛ يستمر طلبك بعدها.
answer-before-question = أُرسلت رسالتك الأخيرة قبل السؤال أعلاه، فلم أعتبرها جواباً له. الرجاء الإجابة عن السؤال أعلاه.
retry-stuck = مثلاً: { $example }. ما أدخلته حتى الآن محفوظ؛ ويمكنك أيضاً الذهاب إلى القائمة أو سؤال الإدارة.
escape-skip = تخطي
escape-menu = القائمة
escape-office = موظف
example-choice = اضغط أحد الخيارات أو اكتب رقمه
example-yes-no = «نعم» أو «لا»
example-text = بضع كلمات
example-number = رقم مثل 3
example-numbers = 3 7 12، أو 0 إن لم يكن أحد
example-date = 5/12 أو «5 ديسمبر» أو «غداً»
example-date-range = «غداً» أو 5/12 أو من 5/12 إلى 7/12
example-photo = صورة من المعرض أو الكاميرا
example-document = صورة أو ملف PDF، أو «تخطي»
example-code = K7M2-Q9XD



switch-offer = هل تريد أن أرد عليك بالعربية؟ اكتب «العربية».

handoff-left = حسناً، عدت إلى المساعد الآلي. رسائلك ما زالت لدى الإدارة وقد ترد عليك هنا.

yes-no-meant = الرجاء الإجابة بـ«نعم» أو «لا» حتى لا يبقى شك.

## Login
login-ask-code = السلام عليكم! أهلاً بك في { $school }. اسألني أي شيء عن المدرسة، أو إن كنت ولي أمر هنا فاكتب رمز الدخول المكوّن من 8 خانات الذي أعطتك إياه المدرسة.
login-code-format = هذا لا يبدو رمز دخول. الرمز مكوّن من 8 حروف وأرقام، مثل K7M2-Q9XD.
login-wrong = عذراً، هذا الرمز غير صالح (ربما كُتب خطأ أو استُخدم من قبل أو انتهت صلاحيته).
login-welcome = شكراً، أنت الآن متصل بـ { $school }.
login-locked = محاولات خاطئة كثيرة. لحمايتك أُغلقت هذه المحادثة حتى الساعة { $until } (بتوقيت المدرسة). يمكنك المحاولة بعد ذلك؛ وإن فقدت رمزك فاطلب رمزاً جديداً من إدارة المدرسة.
login-expired = انتهت صلاحية هذا الرمز. الرجاء طلب رمز جديد من إدارة المدرسة (يمكنهم إرساله إليك هنا)، ثم اكتبه.
login-used = هذا الرمز استُخدم من قبل: كل رمز يعمل مرة واحدة فقط. إن كان هذا هاتفاً جديداً فاطلب رمزاً جديداً من إدارة المدرسة.
login-busy = هناك محاولات دخول كثيرة الآن. حاول مرة أخرى بعد دقائق.
login-handoff = طلبت من إدارة المدرسة مساعدتك في الدخول. سيردون عليك هنا.

## Menus
menu-guardian = كيف يمكننا مساعدتك؟ اختر خياراً أو أرسل رقمه.
menu-fees = رصيد الرسوم
menu-leave = طلب إجازة
menu-consent = نماذج الموافقة
menu-attendance = الحضور
menu-complaint = شكوى
menu-my-complaints = شكاواي
menu-language = اللغة
menu-office = التحدث مع الإدارة
menu-teacher = ماذا تريد أن تفعل؟
menu-mark-attendance = تسجيل الحضور
menu-my-classes = فصولي
menu-class-leave = طلبات الإجازة
language-ask = اختر لغتك.
language-en = English
language-ur = اردو
language-ar = العربية
language-ur-latn = Roman Urdu
no-children = لم نجد أبناء مرتبطين بك. الرجاء التواصل مع إدارة المدرسة.
no-classes = لا توجد فصول مسندة إليك. الرجاء التواصل مع إدارة المدرسة.

## Fees
fees-outstanding = { $name }: { $outstanding } مستحقة
fees-line = • { $description } ({ $period }): { $amount }، تستحق في { $due }{ $overdue ->
    [yes] {" "}(متأخرة)
   *[no] {""}
}
fees-clear = { $name }: لا توجد مبالغ مستحقة. شكراً لك!
fees-payments = آخر المدفوعات:
fees-payment-line = • { $date }: { $amount } ({ $description })
fees-done = اكتب «القائمة» لمزيد من الخيارات.
fees-done-total = إجمالي المستحق: { $total }.
    اكتب «القائمة» لمزيد من الخيارات.
fees-done-pay = إجمالي المستحق: { $total }.
    طريقة الدفع: { $payment }
    اكتب «القائمة» لمزيد من الخيارات.

## Leave
leave-pick-child = لأي من أبنائك الإجازة؟
leave-kind = ما نوع الإجازة؟
leave-sick = مرضية
leave-family = عائلية
leave-religious = دينية
leave-other = أخرى
leave-dates = أي يوم أو أيام؟ مثلاً: "غداً" أو "5/12" أو "5/12 إلى 7/12".
leave-no-school-days = لا دراسة في أي من هذه الأيام (عطلة نهاية الأسبوع أو عطلة مدرسية)، فلا حاجة لإجازة. الرجاء اختيار أيام أخرى.
leave-overlap = ملاحظة: يوجد طلب إجازة لـ { $child } في بعض هذه الأيام. إن كان هذا الطلب بديلاً عنه فأخبر الإدارة بعد إرساله.
leave-reason = الرجاء كتابة السبب في كلمات قليلة.
leave-attachment = إذا كان لديك تقرير طبي أو خطاب فأرسل صورة أو ملف PDF الآن، وإلا فاكتب "تخطي".
leave-confirm = الرجاء التأكيد: { $child } — { $kind ->
    [sick] إجازة مرضية
    [family] إجازة عائلية
    [religious] إجازة دينية
   *[other] إجازة
} { $single ->
    [true] يوم { $from }
   *[other] من { $from } إلى { $to }
} ({ $days ->
    [one] يوم دراسي واحد
    [two] يوما دراسة
    [few] { $days } أيام دراسية
   *[other] { $days } يوماً دراسياً
}). السبب: { $reason }. المرفق: { $attachment ->
    [none] لا يوجد
   *[other] نعم
}. هل نرسل الطلب؟
leave-submitted = أُرسل طلب الإجازة إلى المدرسة (المرجع { $reference }). سنبلغك هنا عند اتخاذ القرار.
leave-dropped = حسناً، لم يُرسل طلب الإجازة.
leave-expired = لم يتم تأكيد طلب الإجازة فلم يُرسل. اكتب "إجازة" للبدء من جديد.
leave-failed = عذراً، تعذّر حفظ طلب الإجازة. حاول مرة أخرى أو اكتب "موظف".
leave-decision = طلب الإجازة لـ { $child } (من { $from } إلى { $to }) { $decision ->
    [approved] تمت الموافقة عليه
   *[rejected] لم تتم الموافقة عليه
}.{ $note ->
    [none] {""}
   *[other] {" "}ملاحظة من المدرسة: { $note }
}

## Attendance
attendance-pick-child = حضور أي من أبنائك تريد أن ترى؟
attendance-summary = { $name }، منذ { $from }: { $present } حضور، { $absent } غياب، { $late } تأخر، { $excused } بعذر ({ $days } أيام دراسية مسجلة).{ $absent ->
    [0] {""}
   *[other] {" "}أيام الغياب:
}
attendance-absent-day = • { $date }
attendance-nothing = لم يُسجَّل أي حضور لـ { $child } في آخر 30 يوماً بعد.

## Consent
consents-none = لا توجد نماذج موافقة تنتظر ردك.
consents-done = انتهت كل نماذج الموافقة التي تنتظرك. شكراً لك!
consent-ask = نموذج موافقة من { $school }: { $title }
    { $description }
    الطالب: { $child }. الرجاء الرد قبل { $deadline }. هل توافق؟
consent-note = هل تريد إضافة ملاحظة للمدرسة؟ اكتبها، أو اكتب "تخطي".
consent-thanks = شكراً، سُجّل ردك بخصوص { $child }: { $approved ->
    [true] وافقت
   *[other] رفضت
}.
consent-too-late = عذراً، انتهى موعد "{ $title }" ولم يعد بالإمكان قبول الردود. الرجاء التواصل مع إدارة المدرسة.
consent-already = تم الرد على نموذج الموافقة هذا من قبل. شكراً لك!
consent-change = لقد أجبت عن «{ $title }» لـ { $child }: { $state ->
    [approved] وافقت
   *[other] لم توافق
}. هل تريد تغيير إجابتك؟ (ممكن حتى { $deadline }.)
consent-kept = حسناً، تبقى إجابتك كما هي.
consent-closed = نموذج الموافقة "{ $title }" الخاص بـ { $child } مغلق.
consent-reminder = تذكير: نموذج الموافقة "{ $title }" الخاص بـ { $child } يُغلق في { $deadline }.

## Complaint
complaint-ask = الرجاء وصف شكواك. ستطّلع عليها إدارة المدرسة.
complaint-logged = شكراً. سُجّلت شكواك: المرجع { $reference }. ستردّ إدارة المدرسة هنا؛ ويمكنك الإضافة إليها من «شكاواي» في القائمة.
complaint-confirm = هل نرسل هذه الشكوى إلى إدارة المدرسة؟
    «{ $text }»
    الفئة: { $category_label ->
        [none] لم تُحدَّد
       *[other] { $category_label }
    }
    الملفات: { $files ->
        [none] لا يوجد
       *[other] { $files }
    }
complaint-dropped = لم تُرسل. اكتب «القائمة» للخيارات.

## Teachers
attendance-pick-class = أي فصل؟
attendance-class-list = { $class_name } ({ $count } طالباً):
attendance-student-line = { $n }. { $name }{ $status ->
    [excused] {" "}(في إجازة)
    [absent] {" "}(غائب اليوم)
    [late] {" "}(متأخر اليوم)
   *[other] {""}
}
attendance-ask-absent = أرسل أرقام الطلاب الغائبين اليوم، مثل: 3 7 12. للمتأخرين اكتب «متأخر» قبل أرقامهم: 3 7 متأخر 5. أرسل 0 إذا حضر الجميع.
attendance-saved = تم حفظ الحضور: { $present } حاضر، { $absent_count } غائب{ $late_count ->
    [0] {""}
   *[other] ، { $late_count } متأخر
}{ $on_leave ->
    [0] {""}
   *[other] ، { $on_leave } في إجازة
}.{ $absent_count ->
    [0] {""}
   *[other] {" "}الغائبون: { $absent_names }.
}
attendance-already = تم تسجيل حضور اليوم من قبل: { $was_present } حاضر، { $was_absent } غائب. هل تريد تسجيله من جديد؟
attendance-kept = حسناً، يبقى حضور اليوم كما هو.
my-classes = فصولك:
my-classes-line = • { $label }
class-leave = طلبات الإجازة المعلقة في فصولك:
class-leave-line = • { $child }: { $kind ->
    [sick] إجازة مرضية
    [family] إجازة عائلية
    [religious] إجازة دينية
   *[other] إجازة
}، من { $from } إلى { $to }. السبب: { $reason }
class-leave-pick = لقبول طلب أو رفضه أرسل رقمه (أو اكتب «القائمة»).
class-leave-decide = هل تقبل هذا الطلب أم ترفضه؟
class-leave-approve = قبول
class-leave-reject = رفض
class-leave-reason = اكتب سبب الرفض؛ سيراه ولي الأمر.
class-leave-decided = تم: سيُبلَّغ ولي الأمر هنا.
class-leave-gone = تم البت في هذا الطلب من قبل أو سُحب.
class-leave-none = لا توجد طلبات إجازة معلقة في فصولك.

# A new chat was linked to the person's account (new_link.yaml).
new-link-ask = تنبيه أمني: تم ربط حساب { $channel } جديد بحسابك في { $school } بتاريخ { $time }. إن كنت أنت فلا حاجة لأي إجراء. وإن لم تكن أنت فاضغط "لست أنا" وسنزيله فوراً.
new-link-not-me = لست أنا
new-link-me = كنت أنا
new-link-fine = شكراً. لم يتغير شيء.
new-link-undone = تم: لم يعد حساب { $channel } هذا مرتبطاً بك، وأُلغيت رموز الدخول غير المستخدمة، وأُبلغت إدارة المدرسة. اطلب رمزاً جديداً من الإدارة إن احتجت.
new-link-refused = لا يمكن إزالته إلا من رقم الهاتف المسجل لدى المدرسة، أو من محادثة لك رُبطت قبله. أُبلغت إدارة المدرسة وستتحقق من الأمر؛ اكتب «موظف» للتواصل معها.
new-link-gone = تمت إزالة هذا الربط من قبل. إن بدا شيء غير صحيح فاكتب «موظف».

## صورة أو ملف PDF عند القائمة
media-what = شكراً على الملف. ما هو؟
media-receipt = إيصال رسوم
media-leave = لطلب إجازة
media-other = شيء آخر
media-pick-child = لأي من أبنائك هذا الإيصال؟
media-receipt-sent = أرسلت إيصال رسوم { $child } إلى إدارة المدرسة، وسيؤكدون استلامه هنا. اكتب «القائمة» لأي شيء آخر.
media-to-office = أرسلت ملفك إلى إدارة المدرسة وسيرد عليك أحد الموظفين هنا. اكتب «القائمة» لأي شيء آخر.

## Absence notice
absence-notice = سُجِّل { $child } غائباً اليوم ({ $day }). إن كان هذا خطأً أو كانت الإجازة متفقاً عليها مع المدرسة فرد هنا أو اكتب «موظف». اكتب «توقف» لإيقاف هذه الإشعارات.

## Free text read by the language model (issue 15)
clarify-ask = لست متأكداً مما تحتاجه. هل هو أحد هذه الخيارات؟
nlu-not-understood = عذراً، لم أفهم ذلك. يرجى الاختيار من القائمة.
nlu-stop-hint = إذا أردت إيقاف التذكيرات، اكتب «توقف».

## Complaint threads (issue 16)
complaint-category = ما موضوع شكواك؟ اختر واحداً، أو اكتب «تخطي».
complaint-files = يمكنك إرسال صور أو ملفات PDF عنها الآن (حتى 5)، أو اكتب «تخطي».
complaint-files-more = تم الاستلام ({ $file_count }). أرسل ملفاً آخر، أو اكتب «انتهيت».
complaint-files-full = هذا أقصى عدد من الملفات للشكوى الواحدة؛ لم يُضف الباقي.
my-complaints-pick = شكاواك (المفتوحة، والمغلقة خلال آخر 7 أيام):
my-complaints-none = لا توجد لديك شكاوى مفتوحة. اكتب «شكوى» لكتابة واحدة.
my-complaint-open = { $reference } { $status_label }. لم تردّ إدارة المدرسة بعد.
my-complaint-replied = { $reference } { $status_label }. آخر ردّ من المدرسة:
    «{ $reply }»
my-complaint-closed = { $reference } مغلقة. يمكنك إعادة فتحها إن لم تُحلّ المشكلة.
menu-button = القائمة
complaint-add-button = إضافة رسالة
complaint-reply-button = الرد على المدرسة
complaint-reopen-button = إعادة فتح
complaint-write = اكتب رسالتك للمدرسة (أو أرسل صورة أو ملف PDF).
complaint-added = أُضيفت إلى { $reference }. اكتب «القائمة» لأي شيء آخر.
complaint-add-closed = { $reference } مغلقة، فلم يُضف شيء. اكتب «شكوى» لكتابة شكوى جديدة.
complaint-staff-replied = ردّت المدرسة على شكواك { $reference }:
    «{ $reply }»
complaint-status-changed = شكواك { $reference } الآن { $status_label }.
complaint-reopened-by-school = أعادت المدرسة فتح شكواك { $reference }.
complaint-csat = أغلقت المدرسة شكواك { $reference }: { $reason }
    ما مدى رضاك عن طريقة معالجتها؟
csat-1 = 1 · غير راضٍ أبداً
csat-2 = 2 · غير راضٍ
csat-3 = 3 · محايد
csat-4 = 4 · راضٍ
csat-5 = 5 · راضٍ جداً
complaint-csat-comment = شكراً. هل تودّ إضافة شيء؟ (أو اكتب «تخطي».)
complaint-csat-thanks = شكراً على إجابتك. إن لم تُحلّ المشكلة يمكنك إعادة فتح الشكوى خلال 7 أيام.
complaint-reopened = أُعيد فتح { $reference }؛ ستنظر فيها إدارة المدرسة.
complaint-reopen-late = أُغلقت { $reference } منذ أكثر من 7 أيام ولا يمكن إعادة فتحها. اكتب «شكوى» لكتابة شكوى جديدة.
complaint-still-open = { $reference } ما زالت مفتوحة.

## Photo attendance
face-pick-class = لأي فصل هذه الصورة؟
face-looking = وصلت صورة { $class_name }. أبحث فيها عن الطلاب وسأرسل لك القائمة للمراجعة خلال ثوانٍ. الصور الأخرى للفصل خلال دقيقة تُضاف إليها.
face-joined = أُضيفت إلى صور { $class_name }: سأرسل القائمة المحدّثة.
face-off = لا تستخدم هذه المدرسة الحضور بالصور. اكتب «الحضور» لتسجيل الفصل بالقائمة.
face-proposal = { $class_name }: وُجد { $faces } وجهًا، واقتُرح حضور { $present_count }{ $unmatched ->
    [0] {""}
   *[other] ، و{ $unmatched } لم يطابقوا أحدًا
}.{ $by_hand ->
    [0] {""}
   *[other] {" "}{ $by_hand } يُسجَّلون يدويًا (بلا علامة).
}
face-student-line = { $present ->
    [yes] ✅
   *[other] ▫️
} { $n }. { $name }{ $why ->
    [no_consent] {" "}(لا موافقة على الصور)
    [not_enrolled] {" "}(لا صورة مرجعية)
    [not_seen] {" "}(لم يظهر)
    [unticked] {" "}(أُزيلت العلامة)
    [teacher] {" "}(أضفته أنت)
   *[other] {""}
}
face-confirm = هل أحفظ الطلاب المعلَّمين حاضرين؟ لا يُحفظ شيء قبل ذلك.
face-save = حفظ
face-change = تعديل
face-drop = تجاهل
face-toggle = أرسل الأرقام لوضع العلامة أو إزالتها، مثلًا: 3 7
face-rest = حُفظ: { $saved } حاضرون. الباقون { $rest_count } ({ $rest_names }): غائبون، متأخرون، أم يُتركون بلا تسجيل الآن؟
face-rest-absent = غائب
face-rest-late = متأخر
face-rest-leave = اتركهم الآن
face-rest-saved = تم: سُجّل { $marked } { $mark ->
    [late] متأخرين
   *[other] غائبين
}. حُفظ حضور { $class_name }.
face-rest-left = تم. تُرك الباقون بلا تسجيل: سجّلهم لاحقًا بالقائمة («الحضور») أو من لوحة الإدارة.
face-all-present = حُفظ: جميع الطلاب { $saved } حاضرون في { $class_name }.
face-dropped = تم التجاهل: لم يُحفظ شيء من الصورة.
face-failed = لم أستطع قراءة الوجوه في هذه الصورة، فلم يُقترح شيء. جرّب صورة بإضاءة جيدة والوجوه نحو الكاميرا، أو اكتب «الحضور» للتسجيل بالقائمة.
face-stale = هذه القائمة لم تعد مفتوحة (حُفظت أو تُجوهلت).

## The enquiry bot
enquiry-answer = { $answer }
enquiry-more = هل من سؤال آخر؟ اسأل. اكتب *التقديم* لتترك بياناتك فيتصلوا بك، أو *موظف* للتحدث مع الإدارة، أو رمز الدخول إن كنت ولي أمر في المدرسة.
enquiry-more-quiet = يمكنك أن تسأل عن شيء آخر، أو تكتب رمز الدخول إن كنت ولي أمر في المدرسة.
enquiry-not-found = ليس عندي جواب عن هذا في معلومات المدرسة. هل أحوّل سؤالك إلى إدارة المدرسة؟
enquiry-declined = حسناً.
lead-intro = حتى تتواصل معك إدارة المدرسة، أحتاج بعض البيانات.
lead-name = ما اسمك؟
lead-child = في أي صف تريد تسجيل طفلك، أو كم عمره؟
lead-school = ما اسم مدرستكم وفي أي مدينة؟
lead-language = بأي لغة تتواصل معك الإدارة؟
lead-confirm = يرجى التأكد:
    الاسم: { $name }
    { $kind ->
        [school] المدرسة والمدينة
       *[other] الصف أو العمر
    }: { $detail }
    اللغة: { $lang ->
        [en] الإنجليزية
        [ur] الأردية
        [ur-Latn] الأردية بالحروف اللاتينية
       *[other] العربية
    }
    هل أرسل هذا إلى الإدارة؟
lead-saved = شكراً، { $name }. وصلت بياناتك إلى إدارة المدرسة (المرجع { $reference }) وسيتواصلون معك.
lead-dropped = لم يُرسل إلى الإدارة.
lead-failed = تعذّر حفظ بياناتك الآن؛ حوّلت هذه المحادثة إلى إدارة المدرسة.
lead-phone = رقم واتساب إن أردت أن تتواصل معك الإدارة عليه (أو «لا»)؟
lead-phone-bad = لا يبدو هذا رقم هاتف. اكتبه مع رمز الدولة، مثل +966 50 123 4567، أو «لا».
lead-phone-note = سأرسل رسالة واتساب إلى هذا الرقم للتأكد من أنه لك؛ لا ترى الإدارة الرقم إلا بعد أن ترد هناك.
lead-verify-ask = { $school }: طلب أحدهم عبر موقعنا التواصل مع رقم الواتساب هذا بخصوص التسجيل (المرجع { $reference }). هل كنت أنت؟
lead-verify-thanks = شكراً. ستتواصل معك إدارة المدرسة على هذا الرقم.
lead-verify-declined = شكراً لإخبارنا. حُذف هذا الرقم ولن يُتواصل معه.

# كلمات رابطة بالعربية. يجب أن يوجد كل مفتاح في en و ur و ar.

## Engine
yes = نعم
no = لا
error-generic = عذراً، حدث خطأ من جهتنا. حاول مرة أخرى، أو اكتب "office" للتواصل مع إدارة المدرسة.
error-handoff = عذراً، لم أستطع المتابعة. حوّلت محادثتك إلى إدارة المدرسة وسيرد عليك أحد الموظفين هنا.
cancelled = تم الإلغاء.
help-unknown = تحتاج لاستخدام هذه الخدمة إلى رمز الدخول الذي أعطتك إياه المدرسة. اكتب الرمز المكوّن من 8 خانات، أو "office" للتواصل مع الإدارة.
help-guardian = يمكنك كتابة: "القائمة" للخيارات، "الرسوم"، "إجازة"، "الحضور"، "رجوع" للإلغاء، "اللغة" لتغيير اللغة، "توقف" لإيقاف التذكيرات، أو "موظف" للتحدث مع الإدارة.
help-teacher = يمكنك كتابة: "القائمة" للخيارات، "الحضور" لتسجيل حضور فصلك، "رجوع" للإلغاء، "اللغة" لتغيير اللغة، أو "موظف" للتحدث مع الإدارة.
language-set = سأرد عليك بالعربية من الآن.
stopped = تم: لن تصلك التذكيرات بعد الآن، وستصلك الرسائل المهمة عن أبنائك. اكتب "ابدأ" لتفعيل التذكيرات مرة أخرى.
started = تم تفعيل التذكيرات مرة أخرى.
handoff-requested = طلبت من إدارة المدرسة الرد عليك هنا. اكتب سؤالك وسيجيبك أحد الموظفين قريباً.
not-allowed = عذراً، هذه الخدمة غير متاحة لك.
loop-handoff = يبدو أننا ندور في حلقة. حوّلت محادثتك إلى إدارة المدرسة وسيرد عليك أحد الموظفين هنا.
retries-handoff = عذراً، لم أفهم. حوّلت محادثتك إلى إدارة المدرسة وسيرد عليك أحد الموظفين هنا.
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
need-document = الرجاء إرسال صورة أو ملف PDF، أو اكتب "تخطي".
invalid-code-format = رمز الدخول مكوّن من 8 حروف وأرقام، مثل K7M2-Q9XD.

## Login
login-ask-code = السلام عليكم! أهلاً بك في { $school }. الرجاء كتابة رمز الدخول المكوّن من 8 خانات الذي أعطتك إياه المدرسة.
login-code-format = هذا لا يبدو رمز دخول. الرمز مكوّن من 8 حروف وأرقام، مثل K7M2-Q9XD.
login-wrong = عذراً، هذا الرمز غير صالح (ربما كُتب خطأ أو استُخدم من قبل أو انتهت صلاحيته).
login-welcome = شكراً، أنت الآن متصل بـ { $school }.
login-locked = محاولات خاطئة كثيرة. لحمايتك أُغلقت هذه المحادثة لمدة ساعة. الرجاء طلب رمز جديد من إدارة المدرسة.
login-busy = هناك محاولات دخول كثيرة الآن. حاول مرة أخرى بعد دقائق.
login-handoff = طلبت من إدارة المدرسة مساعدتك في الدخول. سيردون عليك هنا.

## Menus
menu-guardian = كيف يمكننا مساعدتك؟ اختر خياراً أو أرسل رقمه.
menu-fees = رصيد الرسوم
menu-leave = طلب إجازة
menu-consent = نماذج الموافقة
menu-attendance = الحضور
menu-complaint = شكوى
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
fees-done = اكتب "القائمة" لمزيد من الخيارات.

## Leave
leave-pick-child = لأي من أبنائك الإجازة؟
leave-kind = ما نوع الإجازة؟
leave-sick = مرضية
leave-family = عائلية
leave-religious = دينية
leave-other = أخرى
leave-dates = أي يوم أو أيام؟ مثلاً: "غداً" أو "5/12" أو "5/12 إلى 7/12".
leave-reason = الرجاء كتابة السبب في كلمات قليلة.
leave-attachment = إذا كان لديك تقرير طبي أو خطاب فأرسل صورة أو ملف PDF الآن، وإلا فاكتب "تخطي".
leave-confirm = الرجاء التأكيد: { $child } — { $kind ->
    [sick] إجازة مرضية
    [family] إجازة عائلية
    [religious] إجازة دينية
   *[other] إجازة
} من { $from } إلى { $to } ({ $days ->
    [one] يوم واحد
    [two] يومان
    [few] { $days } أيام
   *[other] { $days } يوماً
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
consent-closed = نموذج الموافقة "{ $title }" الخاص بـ { $child } مغلق.
consent-reminder = تذكير: نموذج الموافقة "{ $title }" الخاص بـ { $child } يُغلق في { $deadline }.

## Complaint
complaint-ask = الرجاء وصف شكواك. ستطّلع عليها إدارة المدرسة.
complaint-logged = شكراً. سُجّلت شكواك (المرجع { $reference }) وستردّ عليك إدارة المدرسة.

## Teachers
attendance-pick-class = أي فصل؟
attendance-class-list = { $class_name } ({ $count } طالباً):
attendance-student-line = { $n }. { $name }
attendance-ask-absent = أرسل أرقام الطلاب الغائبين اليوم، مثل: 3 7 12. أرسل 0 إذا حضر الجميع.
attendance-saved = تم حفظ الحضور: { $present } حضور، { $absent_count } غياب.
my-classes = فصولك:
my-classes-line = • { $label }
class-leave = طلبات الإجازة المعلقة في فصولك:
class-leave-line = • { $child }: إجازة { $kind }، من { $from } إلى { $to }
class-leave-none = لا توجد طلبات إجازة معلقة في فصولك.

# A new chat was linked to the person's account (new_link.yaml).
new-link-ask = تنبيه أمني: تم ربط حساب { $channel } جديد بحسابك في { $school } بتاريخ { $time }. إن كنت أنت فلا حاجة لأي إجراء. وإن لم تكن أنت فاضغط "لست أنا" وسنزيله فوراً.
new-link-not-me = لست أنا
new-link-me = كنت أنا
new-link-fine = شكراً. لم يتغير شيء.
new-link-undone = تم: لم يعد حساب { $channel } هذا مرتبطاً بك، وأُلغيت رموز الدخول غير المستخدمة، وأُبلغت إدارة المدرسة. اطلب رمزاً جديداً من الإدارة إن احتجت.
new-link-refused = لا يمكن إزالته إلا من رقم الهاتف المسجل لدى المدرسة، أو من محادثة لك رُبطت قبله. أُبلغت إدارة المدرسة وستتحقق من الأمر؛ اكتب "office" للتواصل معها.
new-link-gone = تمت إزالة هذا الربط من قبل. إن بدا شيء غير صحيح فاكتب "office".

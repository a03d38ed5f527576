# Raabta's words in Roman Urdu (Urdu in Latin letters); every key must exist in en, ur, ar and ur-Latn (`raabta flows check`).
# Keys are used by flows/*.yaml and the engine.

## Engine: commands, errors, re-prompts
yes = Haan
no = Nahi
error-generic = Maaf kijiye, hamari taraf se koi kharabi ho gayi. Barah-e-karam dobara koshish karein, ya school office se baat ke liye "daftar" likhein.
error-handoff = Maaf kijiye, main aage nahi barh saka. Aap ki baat school office ko bhej di gayi hai; staff yahin jawab dega.
cancelled = Mansookh kar diya gaya.
thanks-reply = Aap ka bhi shukriya!
thanks-waiting = Aap ka bhi shukriya! Main abhi oopar wale sawal ke jawab ka intezar kar raha hoon.
greeting-in-request = Wa alaikum assalam! Hum ek darkhwast ke darmiyan hain: barah-e-karam neeche wale sawal ka jawab dein, ya isay chhorne ke liye "menu" likhein.
help-unknown = Is service ke liye school ka diya hua access code zaroori hai. 8 huroof ka code likhein, ya school office se baat ke liye "daftar" likhein.
help-guardian = Aap likh sakte hain: options ke liye "menu", "fees", "chutti", "hazri", ek sawal peeche jaane ke liye "wapas", darkhwast khatam karne ke liye "mansookh", zaban badalne ke liye "zaban", reminders rokne ke liye "band", ya school office se baat ke liye "daftar".
help-teacher = Aap likh sakte hain: options ke liye "menu", class ki hazri lagane ke liye "hazri", ek sawal peeche jaane ke liye "wapas", darkhwast khatam karne ke liye "mansookh", zaban badalne ke liye "zaban", ya school office se baat ke liye "daftar".
language-set = Ab se main Roman Urdu mein jawab doon ga.
stopped = Theek hai: ab aap ko reminders nahi aayen ge. Aap ke bachon ke baare mein zaroori paighamaat aate rahen ge. Reminders dobara shuru karne ke liye "shuru" likhein.
started = Reminders dobara shuru ho gaye hain.
handoff-requested = Main ne school office se kaha hai ke aap ko yahin jawab dein. Apna sawal likhein; staff office ke auqaat mein jawab deta hai. Kisi bhi waqt wapas bot par aane ke liye "menu" likhein.
not-allowed = Maaf kijiye, yeh suhulat aap ke liye dastyab nahi.
loop-handoff = Lagta hai hum ek hi jagah ghoom rahe hain. Aap ki baat school office ko bhej di gayi hai; staff yahin jawab dega.
choice-expired = Yeh option ab purana ho chuka hai. Mojooda sawal yeh hai:
invalid-choice = Barah-e-karam diye gaye options mein se ek chunein (aap us ka number likh sakte hain).
invalid-text = Barah-e-karam apna jawab likhein.
text-too-short = Yeh thora chhota hai. Barah-e-karam kuch aur alfaaz likhein.
text-too-long = Yeh bohat lamba hai. Barah-e-karam mukhtasar likhein.
invalid-number = Barah-e-karam ek number likhein.
number-out-of-range = Yeh number list mein nahi hai.
invalid-numbers = Barah-e-karam list mein se numbers likhein, maslan: 3 7 12 (agar koi ghair haazir nahi to 0).
invalid-date = Yeh tareekh samajh nahi aayi. Is tarah likhein: 5/12 ya "5 Dec", ya "aaj", "kal".
date-in-past = Yeh tareekh guzar chuki hai. Barah-e-karam aaj ya us ke baad ki tareekh dein.
date-range-inverted = Aakhri din pehle din se pehle hai. Pehle shuru ka din, phir aakhri din likhein, jaise: 5/12 se 7/12.
date-range-too-long = Yeh do mahine se zyada hai. Lambi chutti ke liye barah-e-karam school office se baat karein.
need-photo = Barah-e-karam tasveer bhejein.
need-document = Barah-e-karam tasveer ya PDF bhejein, ya "chhor dein" likhein.
invalid-code-format = Access code mein 8 huroof aur number hote hain, jaise K7M2-Q9XD.

office-hours = Office ke auqaat: { $hours }.
help-handoff = Aap ki baat school office ke paas hai, jawab yahin aaye ga. Wapas bot par aane ke liye "menu" likhein, ya office se apni darkhwast wapas lene ke liye "mansookh".
handoff-ack = Aap ka paigham office tak pohanch gaya hai, jawab yahin aaye ga. Wapas bot par aane ke liye "menu" likhein.
handoff-withdrawn = Theek hai, aap wapas bot ke saath hain; office se aap ki darkhwast wapas le li gayi hai.
handoff-released = Office ne abhi tak yeh baat nahi uthayi, is liye aap wapas bot ke saath hain. Aap ke paighamaat mehfooz hain aur staff ab bhi yahin jawab de sakta hai.
handoff-draft-kept = Aap ne ab tak jo likha hai woh mehfooz hai: staff usay dekh sakta hai, aur bot par wapas aa kar aap usay aage barha sakte hain.
draft-continue = Aayiye, aap ki adhoori darkhwast aage barhate hain.
went-back = Theek hai, ek sawal peeche.
nothing-back = Yahan is se pehle koi sawal nahi hai.
cancel-confirm = Yeh darkhwast mansookh kar dein? Aap ne jo likha hai woh khatam ho jaye ga.
cancel-kept = Theek hai, hum aage chalte hain.
confirmation-lapsed = Aap ki pichli darkhwast bohat der tak tasdeeq ka intezar karti rahi, is liye bheji nahi gayi. Agar ab bhi zaroorat ho to menu se dobara shuru karein.
interrupt-note = Pehle school ka ek paigham; aap ki darkhwast us ke baad jaari rahe gi.
answer-before-question = Aap ka pichla paigham oopar wale sawal se pehle bheja gaya tha, is liye main ne usay jawab nahi samjha. Barah-e-karam oopar wale sawal ka jawab dein.
retry-stuck = Maslan: { $example }. Aap ne ab tak jo likha hai woh mehfooz hai; aap menu par bhi ja sakte hain ya office se pooch sakte hain.
escape-skip = Chhor dein
escape-menu = Menu
escape-office = Daftar
example-choice = koi ek option dabayein, ya us ka number likhein
example-yes-no = "haan" ya "nahi"
example-text = chand alfaaz
example-number = koi number, jaise 3
example-numbers = 3 7 12, ya koi nahi to 0
example-date = 5/12, "5 Dec" ya "kal"
example-date-range = "kal", 5/12, ya 5/12 se 7/12
example-photo = gallery ya camera se ek tasveer
example-document = tasveer ya PDF, ya "chhor dein"
example-code = K7M2-Q9XD



switch-offer = Kya aap chahenge ke main Roman Urdu mein jawab doon? "roman urdu" likhein.

handoff-left = Theek hai, aap wapas bot ke saath hain. Aap ke paighamaat office ke paas hain aur woh yahin jawab de sakte hain.

yes-no-meant = Barah-e-karam "haan" ya "nahi" likhein, taake koi shak na rahe.

## Login
login-ask-code = Assalam o alaikum! { $school } mein khush aamdeed. School ke baare mein kuch bhi poochein, ya agar aap yahan ke walid/walida hain to school ka diya hua 8 harfi access code likhein.
login-code-format = Yeh access code nahi lagta. Code mein 8 huroof aur number hote hain, jaise K7M2-Q9XD.
login-wrong = Maaf kijiye, yeh code durust nahi (shayad ghalat likha gaya, pehle istemal ho chuka, ya us ki muddat khatam ho chuki hai).
login-welcome = Shukriya, ab aap { $school } se jur gaye hain.
login-locked = Bohat zyada ghalat codes. Aap ki hifazat ke liye yeh chat { $until } (school ke waqt ke mutabiq) tak band hai. Us ke baad dobara koshish karein; agar aap ka code gum ho gaya hai to school office se naya code lein.
login-expired = Is code ki muddat khatam ho chuki hai. Barah-e-karam school office se naya code lein (woh aap ko yahin bhej sakte hain), phir usay likhein.
login-used = Yeh code pehle istemal ho chuka hai: har code sirf ek baar chalta hai. Agar yeh naya phone hai to school office se naya code lein.
login-busy = Is waqt bohat zyada log login ki koshish kar rahe hain. Barah-e-karam chand minute baad dobara koshish karein.
login-handoff = Main ne school office se kaha hai ke login mein aap ki madad karein. Woh yahin jawab dein ge.

## Menus
menu-guardian = Hum aap ki kya madad kar sakte hain? Koi option chunein ya us ka number likhein.
menu-fees = Fees baqaya
menu-leave = Chutti ki darkhwast
menu-consent = Ijazat naame
menu-attendance = Hazri
menu-complaint = Shikayat
menu-my-complaints = Meri shikayaat
menu-language = Zaban
menu-office = Daftar se baat
menu-teacher = Aap kya karna chahen ge?
menu-mark-attendance = Hazri lagayein
menu-my-classes = Meri classes
menu-class-leave = Chutti darkhwastein
language-ask = Apni zaban chunein.
language-en = English
language-ur = اردو
language-ar = العربية
language-ur-latn = Roman Urdu
no-children = Aap se jura hua koi bacha nahi mila. Barah-e-karam school office se rabta karein.
no-classes = Aap ko koi class nahi di gayi. Barah-e-karam school office se rabta karein.

## Fees
fees-outstanding = { $name }: { $outstanding } baqaya
fees-line = • { $description } ({ $period }): { $amount }, aakhri tareekh { $due }{ $overdue ->
    [yes] {" "}(tareekh guzar chuki)
   *[no] {""}
}
fees-clear = { $name }: koi baqaya nahi. Shukriya!
fees-payments = Pichli adayigiyan:
fees-payment-line = • { $date }: { $amount } ({ $description })
fees-done = Mazeed options ke liye "menu" likhein.
fees-done-total = Kul baqaya: { $total }.
    Mazeed options ke liye "menu" likhein.
fees-done-pay = Kul baqaya: { $total }.
    Adayigi ka tareeqa: { $payment }
    Mazeed options ke liye "menu" likhein.

## Leave
leave-pick-child = Chutti kis bachay ke liye hai?
leave-kind = Chutti kis qisam ki hai?
leave-sick = Bimari
leave-family = Khandani
leave-religious = Mazhabi
leave-other = Koi aur
leave-dates = Kis din ya kin dinon ki chutti chahiye? Maslan: "kal", "5/12" ya "5/12 se 7/12".
leave-no-school-days = In mein se kisi din bhi school nahi hai (weekend ya school ki chutti), is liye chutti ki zaroorat nahi. Barah-e-karam doosre din batayein.
leave-overlap = Note: { $child } ke liye in mein se kuch dinon ki chutti ki darkhwast pehle se mojood hai. Agar yeh us ki jagah hai to bhejne ke baad office ko bata dein.
leave-reason = Barah-e-karam chand alfaaz mein wajah likhein.
leave-attachment = Agar aap ke paas medical certificate ya khat hai to abhi us ki tasveer ya PDF bhejein. Warna "chhor dein" likhein.
leave-confirm = Barah-e-karam tasdeeq karein: { $child } — { $kind ->
    [sick] bimari ki chutti
    [family] khandani chutti
    [religious] mazhabi chutti
   *[other] chutti
}, { $single ->
    [true] { $from } ko
   *[other] { $from } se { $to } tak
} ({ $days ->
    [one] ek school ka din
   *[other] { $days } school ke din
}). Wajah: { $reason }. Attachment: { $attachment ->
    [none] koi nahi
   *[other] haan
}. Bhej dein?
leave-submitted = Aap ki chutti ki darkhwast school ko bhej di gayi hai (reference { $reference }). Faisla hone par aap ko yahin bataya jaye ga.
leave-dropped = Theek hai, chutti ki darkhwast nahi bheji gayi.
leave-expired = Chutti ki darkhwast ki tasdeeq nahi hui, is liye nahi bheji gayi. Dobara shuru karne ke liye "chutti" likhein.
leave-failed = Maaf kijiye, chutti ki darkhwast mehfooz nahi ho saki. Dobara koshish karein ya "daftar" likhein.
leave-decision = { $child } ki chutti ki darkhwast ({ $from } se { $to } tak) { $decision ->
    [approved] manzoor ho gayi hai
   *[rejected] manzoor nahi hui
}.{ $note ->
    [none] {""}
   *[other] {" "}School ka note: { $note }
}

## Attendance
attendance-pick-child = Aap kis bachay ki hazri dekhna chahte hain?
attendance-summary = { $name }, { $from } se: { $present } haazir, { $absent } ghair haazir, { $late } der se, { $excused } manzoor chutti ({ $days } school ke din darj).{ $absent ->
    [0] {""}
   *[other] {" "}Ghair haazri ke din:
}
attendance-absent-day = • { $date }
attendance-nothing = Pichle 30 dinon mein { $child } ki koi hazri abhi darj nahi hui.

## Consent
consents-none = Koi ijazat nama aap ke jawab ka intezar nahi kar raha.
consents-done = Aap ke saare ijazat naame mukammal ho gaye. Shukriya!
consent-ask = { $school } ki taraf se ijazat nama: { $title }
    { $description }
    Bacha: { $child }. Barah-e-karam { $deadline } tak jawab dein. Kya aap ijazat dete hain?
consent-note = Kya aap school ke liye koi note likhna chahen ge? Likh dein, ya "chhor dein" likhein.
consent-thanks = Shukriya, { $child } ke liye aap ka jawab darj ho gaya: { $approved ->
    [true] aap ne ijazat di
   *[other] aap ne inkaar kiya
}.
consent-too-late = Maaf kijiye, "{ $title }" ki aakhri tareekh guzar chuki hai, is liye school ab jawab qubool nahi kar sakta. Barah-e-karam school office se rabta karein.
consent-already = Is ijazat name ka jawab pehle hi diya ja chuka hai. Shukriya!
consent-change = Aap { $child } ke liye «{ $title }» ka pehle hi jawab de chuke hain: { $state ->
    [approved] aap ne ijazat di
   *[other] aap ne inkaar kiya
}. Kya aap apna jawab badalna chahenge? ({ $deadline } tak mumkin hai.)
consent-kept = Theek hai, aap ka jawab pehle jaisa rahe ga.
consent-closed = { $child } ke liye ijazat nama "{ $title }" band ho chuka hai.
consent-reminder = Reminder: { $child } ke liye ijazat nama "{ $title }" { $deadline } ko band ho jaye ga.

## Complaint
complaint-ask = Barah-e-karam apni shikayat likhein. School office isay parhe ga.
complaint-logged = Shukriya. Aap ki shikayat darj ho gayi hai: reference { $reference }. School office yahin jawab de ga; menu mein "Meri shikayaat" se aap is mein mazeed likh sakte hain.
complaint-confirm = Kya yeh shikayat school office ko bhej dein?
    «{ $text }»
    Qism: { $category_label ->
        [none] nahi chuni
       *[other] { $category_label }
    }
    Files: { $files ->
        [none] koi nahi
       *[other] { $files }
    }
complaint-dropped = Nahi bheji gayi. Options ke liye "menu" likhein.

## Teachers
attendance-pick-class = Kaun si class?
attendance-class-list = { $class_name } ({ $count } bachay):
attendance-student-line = { $n }. { $name }{ $status ->
    [excused] {" "}(chutti par)
    [absent] {" "}(aaj ghair haazir)
    [late] {" "}(aaj der se)
   *[other] {""}
}
attendance-ask-absent = Aaj ghair haazir bachon ke number likhein, maslan: 3 7 12. Der se aane walon ke number se pehle "der" likhein: 3 7 der 5. Agar sab haazir hain to 0 likhein.
attendance-saved = Hazri mehfooz ho gayi: { $present } haazir, { $absent_count } ghair haazir{ $late_count ->
    [0] {""}
   *[other] , { $late_count } der se
}{ $on_leave ->
    [0] {""}
   *[other] , { $on_leave } chutti par
}.{ $absent_count ->
    [0] {""}
   *[other] {" "}Ghair haazir: { $absent_names }.
}
attendance-already = Aaj ki hazri pehle hi lag chuki hai: { $was_present } haazir, { $was_absent } ghair haazir. Dobara lagayein?
attendance-kept = Theek hai, aaj ki hazri pehle jaisi rahe gi.
my-classes = Aap ki classes:
my-classes-line = • { $label }
class-leave = Aap ki classes ki chutti ki darkhwastein jin ka faisla baqi hai:
class-leave-line = • { $child }: { $kind ->
    [sick] bimari ki chutti
    [family] khandani chutti
    [religious] mazhabi chutti
   *[other] chutti
}, { $from } se { $to } tak. Wajah: { $reason }
class-leave-pick = Kisi darkhwast ko manzoor ya na-manzoor karne ke liye us ka number likhein (ya "menu").
class-leave-decide = Yeh darkhwast manzoor karein ya na-manzoor?
class-leave-approve = Manzoor
class-leave-reject = Na-manzoor
class-leave-reason = Na-manzoori ki wajah likhein; walidain isay dekhen ge.
class-leave-decided = Ho gaya: walidain ko yahin bata diya jaye ga.
class-leave-gone = Is darkhwast ka faisla pehle hi ho chuka hai ya woh wapas le li gayi hai.
class-leave-none = Aap ki classes mein koi chutti ki darkhwast faisle ke liye baqi nahi.

# A new chat was linked to the person's account (new_link.yaml).
new-link-ask = Hifazati itla: { $time } ko { $school } mein aap ke account se ek naya { $channel } account joda gaya. Agar yeh aap thay to kuch karne ki zaroorat nahi. Agar yeh aap nahi thay to "Main nahi" dabayein, hum isay foran hata dein ge.
new-link-not-me = Main nahi
new-link-me = Yeh main tha/thi
new-link-fine = Shukriya. Kuch tabdeel nahi hua.
new-link-undone = Ho gaya: woh { $channel } account ab aap se jura hua nahi hai, aap ke istemal na hue codes mansookh kar diye gaye hain aur school office ko bata diya gaya hai. Zaroorat ho to office se naya code lein.
new-link-refused = Isay sirf woh phone number jo school ke record mein hai, ya us se pehle judi hui aap ki koi chat hi hata sakti hai. School office ko bata diya gaya hai aur woh check karein ge; un se baat ke liye "daftar" likhein.
new-link-gone = Yeh link pehle hi hataya ja chuka hai. Agar ab bhi kuch ghalat lagay to "daftar" likhein.

## Menu par tasveer ya PDF
media-what = File ka shukriya. Yeh kya hai?
media-receipt = Fees ki raseed
media-leave = Chutti ki darkhwast
media-other = Kuch aur
media-pick-child = Yeh raseed kis bachay ki hai?
media-receipt-sent = { $child } ki fees ki raseed school office ko bhej di gayi hai; woh yahin tasdeeq karenge. Kisi aur kaam ke liye "menu" likhein.
media-to-office = Aap ki file school office ko bhej di gayi hai; staff yahin jawab dega. Kisi aur kaam ke liye "menu" likhein.

## Absence notice
absence-notice = { $child } ko aaj ({ $day }) ghair haazir likha gaya hai. Agar yeh ghalti hai ya chutti school se tay thi to yahin jawab dein ya "daftar" likhein. Yeh ittila'at rokne ke liye "band" likhein.

## Free text read by the language model (issue 15)
clarify-ask = Mujhe yaqeen nahi ke aap ko kya chahiye. Kya in mein se koi hai?
nlu-not-understood = Maazrat, yeh baat samajh nahi aayi. Meharbani kar ke menu mein se chunein.
nlu-stop-hint = Agar aap reminders rokna chahte hain to "band" likhein.

## Complaint threads (issue 16)
complaint-category = Aap ki shikayat kis bare mein hai? Ek chunein, ya "chhor dein" likhein.
complaint-files = Chahein to ab tasveerein ya PDF bhejein (zyada se zyada 5), ya "chhor dein" likhein.
complaint-files-more = Mil gayi ({ $file_count }). Aik aur bhejein, ya "bas" likhein.
complaint-files-full = Aik shikayat ke sath is se zyada files nahi ja saktin; baqi shamil nahi ki gayin.
my-complaints-pick = Aap ki shikayaat (khuli, aur pichle 7 din mein band hone wali):
my-complaints-none = Aap ki koi khuli shikayat nahi. Nayi likhne ke liye "shikayat" likhein.
my-complaint-open = { $reference } { $status_label } hai. School office ne abhi jawab nahi diya.
my-complaint-replied = { $reference } { $status_label } hai. School ka taza jawab:
    «{ $reply }»
my-complaint-closed = { $reference } band hai. Agar masla hal nahi hua to aap isay dobara khol sakte hain.
menu-button = Menu
complaint-add-button = Paigham likhein
complaint-reply-button = School ko jawab dein
complaint-reopen-button = Dobara kholein
complaint-write = School ke liye apna paigham likhein (ya tasveer ya PDF bhejein).
complaint-added = { $reference } mein shamil kar diya. Kisi aur kaam ke liye "menu" likhein.
complaint-add-closed = { $reference } band hai, is liye kuch shamil nahi kiya gaya. Nayi shikayat ke liye "shikayat" likhein.
complaint-staff-replied = School ne aap ki shikayat { $reference } ka jawab diya:
    «{ $reply }»
complaint-status-changed = Aap ki shikayat { $reference } ab { $status_label } hai.
complaint-reopened-by-school = School ne aap ki shikayat { $reference } dobara khol di hai.
complaint-csat = School ne aap ki shikayat { $reference } band kar di: { $reason }
    Aap is ke hal se kitne mutmain hain?
csat-1 = 1 · Bohat nakhush
csat-2 = 2 · Nakhush
csat-3 = 3 · Theek hai
csat-4 = 4 · Mutmain
csat-5 = 5 · Bohat mutmain
complaint-csat-comment = Shukriya. Kuch aur kehna chahein ge? (Ya "chhor dein" likhein.)
complaint-csat-thanks = Jawab ka shukriya. Agar masla hal nahi hua to 7 din ke andar shikayat dobara khol sakte hain.
complaint-reopened = { $reference } dobara khul gayi hai; school office isay dekhe ga.
complaint-reopen-late = { $reference } ko band huay 7 din se zyada ho gaye, is liye dobara nahi khul sakti. Nayi shikayat ke liye "shikayat" likhein.
complaint-still-open = { $reference } abhi khuli hai.

## Photo attendance
face-pick-class = Ye photo kis class ki hai?
face-looking = { $class_name } ki photo mil gayi. Main is mein students dhoond raha hun aur chand second mein list bhejunga. Aik minute ke andar class ki mazeed photos bhi shamil ho jayengi.
face-joined = { $class_name } ki photos mein shamil kar di: nayi list bhejta hun.
face-off = Is school mein photo attendance istemal nahi hoti. List se hazri lagane ke liye "hazri" likhein.
face-proposal = { $class_name }: { $faces } chehre mile, { $present_count } hazir tajweez{ $unmatched ->
    [0] {""}
   *[other] , { $unmatched } kisi se match nahi hue
}.{ $by_hand ->
    [0] {""}
   *[other] {" "}{ $by_hand } ki hazri haath se lagayein (tick nahi).
}
face-student-line = { $present ->
    [yes] ✅
   *[other] ▫️
} { $n }. { $name }{ $why ->
    [no_consent] {" "}(photo ki ijazat nahi)
    [not_enrolled] {" "}(reference photo nahi)
    [not_seen] {" "}(nazar nahi aaye)
    [unticked] {" "}(tick hataya)
    [teacher] {" "}(aap ne shamil kiya)
   *[other] {""}
}
face-confirm = Tick wale students ko hazir save karun? Jab tak aap save na karein kuch save nahi hota.
face-save = Save
face-change = Tabdeel
face-drop = Chhor dein
face-toggle = Tick lagane ya hatane ke liye number bhejein, maslan: 3 7
face-rest = Save ho gaya: { $saved } hazir. Baqi { $rest_count } ({ $rest_names }): ghair hazir, late, ya abhi ke liye khali chhor dein?
face-rest-absent = Ghair hazir
face-rest-late = Late
face-rest-leave = Khali chhor dein
face-rest-saved = Ho gaya: { $marked } { $mark ->
    [late] late
   *[other] ghair hazir
} lag gaye. { $class_name } ki hazri save hai.
face-rest-left = Ho gaya. Baqi khali hain: baad mein list ("hazri") ya admin se lagayein.
face-all-present = Save ho gaya: { $class_name } mein sab { $saved } hazir.
face-dropped = Chhor diya: photo se kuch save nahi hua.
face-failed = Is photo mein chehre nahi parh saka, is liye kuch tajweez nahi hua. Achhi roshni mein, camera ki taraf chehron wali photo bhejein, ya list se hazri ke liye "hazri" likhein.
face-stale = Ye list ab khuli nahi (pehle hi save ya chhor di gayi).

## The enquiry bot
enquiry-answer = { $answer }
enquiry-more = Aur kuch? Poochiye. Call back ke liye apni maloomat dene ko *apply* likhein, office se baat ke liye *office*, ya agar aap school ke walid/walida hain to apna access code.
enquiry-more-quiet = Aap kuch aur pooch sakte hain, ya agar aap school ke walid/walida hain to apna access code likhein.
enquiry-not-found = School ki maloomat mein is ka jawab mere paas nahi. Kya main aap ka sawal school office ko bhej doon?
enquiry-declined = Theek hai.
lead-intro = Taake school office aap se rabta kar sake, mujhe kuch maloomat chahiyen.
lead-name = Aap ka naam?
lead-child = Aap ka bacha kis class mein admission chahta hai, ya us ki umar kya hai?
lead-school = Aap ke school ka naam aur shehar?
lead-language = Office aap se kis zabaan mein baat kare?
lead-confirm = Meharbani kar ke dekh lein:
    Naam: { $name }
    { $kind ->
        [school] School aur shehar
       *[other] Class ya umar
    }: { $detail }
    Zabaan: { $lang ->
        [ur] Urdu
        [ar] Arabi
        [ur-Latn] Roman Urdu
       *[other] English
    }
    Kya main yeh office ko bhej doon?
lead-saved = Shukriya, { $name }. School office ke paas aap ki maloomat pohanch gayi hain (hawala { $reference }), woh aap se rabta karenge.
lead-dropped = Office ko nahi bheja.
lead-failed = Abhi aap ki maloomat mehfooz nahi ho sakin; main ne yeh chat school office ko bhej di hai.
lead-phone = Agar aap chahte hain ke office WhatsApp par rabta kare to apna WhatsApp number likhein (ya "nahi").
lead-phone-bad = Yeh phone number nahi lagta. Mulk ke code ke saath likhein, maslan +92 300 1234567, ya "nahi".
lead-phone-note = Main is number par WhatsApp message bhej kar tasdeeq karunga ke yeh aap ka hai; office yeh number aap ke wahan jawab dene ke baad hi dekhega.
lead-verify-ask = { $school }: kisi ne hamari website par kaha ke admission ke baare mein is WhatsApp number par rabta kiya jaye (hawala { $reference }). Kya yeh aap thay?
lead-verify-thanks = Shukriya. School office aap se isi number par rabta karega.
lead-verify-declined = Batane ka shukriya. Yeh number hata diya gaya hai, is par rabta nahi kiya jayega.

## Privacy (my data)
privacy-ask = School aap ke bare mein jo zaati maloomat rakhta hai, us ke sath aap kya karna chahte hain?
privacy-copy-button = Meri maloomat ki copy
privacy-delete-button = Meri maloomat delete
privacy-info-button = Kaise istemal hoti hai
privacy-info = School aap ka naam, phone number aur roster ki tafseel, aap ke bachon ka school record aur yahan aap ke messages sirf aap ko school ki service dene ke liye rakhta hai. Kuch bhi becha ya ishtehar ke liye diya nahi jata. Chat ke messages 90 din baad mita diye jate hain (school chahe to pehle); activity log 90 din. Copy ya delete ke liye "mera data" likhein.
privacy-confirm-access = School aap ki maloomat ki copy (aap ki tafseel, bachon se talluq, messages, chutti, razamandi ke jawab, shikayaat aur hazri) tayyar kar ke aap ko de ga. Darkhwast bhej dein?
privacy-confirm-erasure = Delete karne se aap ka phone number, CNIC, pata, chat par login aur school se aap ki baat cheet mit jaye gi; yahan school ke messages nahi aayen ge. School apna record (fees, hazri, chutti, shikayaat, razamandi) aap ke naam ke baghair rakhe ga. Pehle administrator darkhwast dekhe ga. Bhej dein?
privacy-access-recorded = Aap ki darkhwast darj ho gayi hai (reference { $reference }). School { $due } tak jawab de ga.
privacy-erasure-recorded = Aap ki maloomat delete karne ki darkhwast darj ho gayi hai (reference { $reference }). School { $due } tak mukammal kare ga; tab tak sab pehle ki tarah chalta rahe ga.
privacy-already = Aap ki aisi darkhwast pehle se intezar mein hai (reference { $reference }); school { $due } tak jawab de ga.
privacy-not-sent = Kuch nahi bheja gaya. Options ke liye "menu" likhein.
privacy-stranger = Yeh chat sirf yahan aap ke messages rakhti hai. Agar aap school mein walidain hain to pehle apne access code se login karein, phir "mera data" likhein; warna school office se poochein.
privacy-staff = Staff: apni maloomat ki copy ya delete ke liye school ke administrator se kahein.

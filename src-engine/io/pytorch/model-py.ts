/**
 * PyTorch code generation: a self-contained `model.py` (torch + numpy only)
 * that defines the graph as an nn.Module whose state_dict keys are exactly
 * our parameter names (graph.ts), reads and writes safetensors itself (no
 * `safetensors` package), and offers `load_model(weights_path)` → the model in
 * eval mode. The architecture is spelled out layer by layer, one line per
 * layer with its path and output shape, so the file documents the model.
 */
import { asPair, describeGraph, mlpHidden, optionAStride, sequenceShape, type LayerRow } from '../../models/describe.ts';
import type { ActivationKind, LayerSpec, ModelGraph } from '../../models/graph.ts';
import { classNamesOf, type ExportInfo, normalizationOf } from '../export-info.ts';
import { pyDocText, pyLiteral, pySize, pyString } from './python.ts';

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

function activationModule(kind: ActivationKind, alpha?: number): string {
  switch (kind) {
    case 'relu':
      return 'nn.ReLU()';
    case 'leakyRelu':
      return `nn.LeakyReLU(${alpha ?? 0.01})`;
    case 'elu':
      return `nn.ELU(${alpha ?? 1})`;
    case 'gelu':
      return 'nn.GELU()';
    case 'sigmoid':
      return 'nn.Sigmoid()';
    case 'tanh':
      return 'nn.Tanh()';
    case 'softplus':
      return 'nn.Softplus()';
  }
}

class Writer {
  constructor(private readonly rows: Map<string, LayerRow>) {}

  row(path: string): LayerRow {
    const r = this.rows.get(path);
    if (!r) throw new Error(`PyTorch export: no shape for ${path}`);
    return r;
  }

  /** `nn.Sequential(` … `)` of a layer list, each item commented with its path and output shape. */
  sequential(layers: readonly LayerSpec[], prefix: string, indent: string): string {
    const inner = indent + '    ';
    const items = layers.map((spec, j) => {
      const path = `${prefix}.${j}`;
      const r = this.row(path);
      return `${inner}${this.layer(spec, path, inner)},  # ${path}: ${spec.type} -> ${fmtShape(r.outputShape)}`;
    });
    return `nn.Sequential(\n${items.join('\n')}\n${indent})`;
  }

  layer(spec: LayerSpec, path: string, indent: string): string {
    const r = this.row(path);
    const inShape = r.inputShape;
    switch (spec.type) {
      case 'normalize':
        return `Normalize(mean=${pyLiteral(spec.mean)}, std=${pyLiteral(spec.std)})`;
      case 'conv2d': {
        const args = [`${inShape[0]}`, `${spec.out}`, `kernel_size=${pySize(spec.kernel)}`];
        if (pySize(spec.stride) !== '1') args.push(`stride=${pySize(spec.stride)}`);
        if (pySize(spec.padding) !== '0') args.push(`padding=${pySize(spec.padding)}`);
        if (pySize(spec.dilation) !== '1') args.push(`dilation=${pySize(spec.dilation)}`);
        if (spec.groups !== 1) args.push(`groups=${spec.groups}`);
        if (!spec.bias) args.push('bias=False');
        return `nn.Conv2d(${args.join(', ')})`;
      }
      case 'linear':
        return `nn.Linear(${inShape[inShape.length - 1]}, ${spec.out}${spec.bias ? '' : ', bias=False'})`;
      case 'batchnorm':
        return `nn.BatchNorm${inShape.length === 3 ? '2d' : '1d'}(${inShape[0]}, eps=${spec.eps}, momentum=${spec.momentum})`;
      case 'layernorm':
        return `nn.LayerNorm(${inShape[inShape.length - 1]}, eps=${spec.eps})`;
      case 'activation':
        return activationModule(spec.kind, spec.alpha);
      case 'maxpool2d':
        return `nn.MaxPool2d(kernel_size=${pySize(spec.kernel)}, stride=${pySize(spec.stride ?? spec.kernel)}, padding=${pySize(spec.padding)})`;
      case 'avgpool2d':
        return `nn.AvgPool2d(kernel_size=${pySize(spec.kernel)}, stride=${pySize(spec.stride ?? spec.kernel)}, padding=${pySize(spec.padding)}, count_include_pad=True)`;
      case 'globalavgpool':
        return 'nn.AdaptiveAvgPool2d(1)';
      case 'adaptiveavgpool': {
        const [h, w] = asPair(spec.size);
        return `nn.AdaptiveAvgPool2d((${h}, ${w}))`;
      }
      case 'flatten':
        return 'nn.Flatten()';
      case 'dropout':
        return `nn.Dropout(${spec.p})`;
      case 'recurrent': {
        const [, f] = sequenceShape(inShape);
        const cls = spec.cell === 'rnn' ? 'RowRNN' : spec.cell === 'gru' ? 'RowGRU' : 'RowLSTM';
        const args = [`${f}`, `${spec.hidden}`, `num_layers=${spec.layers}`, `bidirectional=${pyLiteral(spec.bidirectional)}`];
        if (spec.layers > 1 && spec.dropout > 0) args.push(`dropout=${spec.dropout}`);
        if (spec.cell === 'rnn') args.push(`nonlinearity=${pyString(spec.nonlinearity)}`);
        args.push(`readout=${pyString(spec.readout)}`);
        return `${cls}(${args.join(', ')})`;
      }
      case 'patchembed':
        return `PatchEmbed(${inShape[0]}, ${spec.dim}, patch=${spec.patch})`;
      case 'clstoken':
        return `ClsToken(${inShape[1]})`;
      case 'positions':
        return `Positions(${inShape[0]}, ${inShape[1]}, kind=${pyString(spec.kind)})`;
      case 'transformerblock':
        return `TransformerBlock(${inShape[1]}, heads=${spec.heads}, mlp_hidden=${mlpHidden(inShape[1], spec.mlpRatio)}, dropout=${spec.dropout})`;
      case 'tokenpool':
        return `TokenPool(${pyString(spec.kind)})`;
      case 'residual': {
        const inner = indent + '    ';
        const sc = spec.shortcut;
        let shortcut: string;
        if (sc === 'identity') shortcut = 'nn.Identity()';
        else if (sc === 'none') shortcut = 'None';
        else if (Array.isArray(sc)) shortcut = this.sequential(sc, `${path}.shortcut`, inner);
        else {
          const extra = r.outputShape[0] - inShape[0];
          shortcut = `ShortcutA(stride=${optionAStride(inShape, r.outputShape)}, pad_before=${Math.floor(extra / 2)}, pad_after=${extra - Math.floor(extra / 2)})`;
        }
        return (
          `Residual(\n${inner}body=${this.sequential(spec.body, `${path}.body`, inner)},\n` +
          `${inner}shortcut=${shortcut},\n` +
          `${inner}activation=${spec.activation ? activationModule(spec.activation) : 'None'},\n${indent})`
        );
      }
      case 'concat': {
        const inner = indent + '    ';
        const branches = spec.branches.map((b, i) => `${inner}${this.sequential(b, `${path}.branches.${i}`, inner)},`);
        return `Concat(\n${branches.join('\n')}\n${indent})`;
      }
    }
  }
}

/** The layer modules model.py defines (fixed text; the generated Model uses them). */
const RUNTIME = String.raw`
# ---------------------------------------------------------------- safetensors
# The file format of https://github.com/huggingface/safetensors: an 8-byte
# little-endian header length, a JSON header {name: {dtype, shape,
# data_offsets}, "__metadata__": {str: str}}, then the raw little-endian data.

_ST_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}


def load_safetensors(path):
    """Read a safetensors file: ({name: torch.Tensor}, {metadata key: value})."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} goes beyond the end of the file ({len(data)} bytes)")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if info["dtype"] not in _ST_DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {info['dtype']!r}")
        dtype = np.dtype(_ST_DTYPES[info["dtype"]]).newbyteorder("<")
        begin, end = info["data_offsets"]
        shape = tuple(int(d) for d in info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if end - begin != count * dtype.itemsize or base + end > len(data):
            raise ValueError(f"{path}: tensor {name!r} {shape} does not match its data_offsets {begin}..{end}")
        array = np.frombuffer(data, dtype=dtype, count=count, offset=base + begin).reshape(shape)
        tensors[name] = torch.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=True))
    return tensors, metadata


_ST_CODES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}


def save_safetensors(path, tensors, metadata=None):
    """Write {name: tensor} (+ string metadata) as safetensors, atomically (temp file + rename)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    # Widest dtype first keeps every tensor aligned to its element size.
    for name, t in sorted(tensors.items(), key=lambda kv: -kv[1].element_size()):
        array = t.detach().cpu().contiguous().numpy()
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST_CODES[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


# ---------------------------------------------------------------- layers


class Normalize(nn.Module):
    """Raw pixels 0..255 -> (x / 255 - mean) / std per channel (no state_dict entries)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x):
        return (x / 255.0 - self.mean) / self.std


class Residual(nn.Module):
    """out = activation(body(x) + shortcut(x)); shortcut None = a plain block."""

    def __init__(self, body, shortcut, activation):
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.activation = activation

    def forward(self, x):
        y = self.body(x)
        if self.shortcut is not None:
            y = y + self.shortcut(x)
        return self.activation(y) if self.activation is not None else y


class ShortcutA(nn.Module):
    """He et al. 2016 option A: x[:, :, ::s, ::s] with zero channels padded before and after."""

    def __init__(self, stride, pad_before, pad_after):
        super().__init__()
        self.stride, self.pad_before, self.pad_after = stride, pad_before, pad_after

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad_before, self.pad_after))


class Concat(nn.Module):
    """Channel concatenation of the branches' outputs."""

    def __init__(self, *branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], dim=1)


def _rows(x):
    """Images [N, C, H, W] are read row by row: a sequence of H steps of C*W features."""
    if x.dim() == 4:
        n, c, h, w = x.shape
        return x.permute(0, 2, 1, 3).reshape(n, h, c * w)
    return x


def _readout(module, out, h_n, readout):
    if readout == "max":
        return out.max(dim=1).values
    d = 2 if module.bidirectional else 1
    return h_n[-d:].transpose(0, 1).reshape(out.shape[0], -1)


class RowRNN(nn.RNN):
    def __init__(self, *args, readout="last", **kwargs):
        super().__init__(*args, batch_first=True, **kwargs)
        self.readout = readout

    def forward(self, x):
        out, h_n = super().forward(_rows(x))
        return _readout(self, out, h_n, self.readout)


class RowGRU(nn.GRU):
    def __init__(self, *args, readout="last", **kwargs):
        super().__init__(*args, batch_first=True, **kwargs)
        self.readout = readout

    def forward(self, x):
        out, h_n = super().forward(_rows(x))
        return _readout(self, out, h_n, self.readout)


class RowLSTM(nn.LSTM):
    def __init__(self, *args, readout="last", **kwargs):
        super().__init__(*args, batch_first=True, **kwargs)
        self.readout = readout

    def forward(self, x):
        out, (h_n, _c_n) = super().forward(_rows(x))
        return _readout(self, out, h_n, self.readout)


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> tokens [N, T, dim]."""

    def __init__(self, channels, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ClsToken(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x):
        return torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)


def sinusoidal_positions(tokens, dim):
    """Vaswani et al. 2017: PE[t, 2i] = sin(t / 10000^(2i/dim)), PE[t, 2i+1] = cos(...)."""
    pe = np.zeros((tokens, dim), dtype=np.float64)
    for t in range(tokens):
        for i in range(dim // 2):
            angle = t / math.pow(10000, (2 * i) / dim)
            pe[t, 2 * i] = math.sin(angle)
            pe[t, 2 * i + 1] = math.cos(angle)
    return torch.from_numpy(pe.astype(np.float32)).unsqueeze(0)


class Positions(nn.Module):
    def __init__(self, tokens, dim, kind):
        super().__init__()
        if kind == "learned":
            self.pos = nn.Parameter(torch.zeros(1, tokens, dim))
        else:
            self.register_buffer("pos", sinusoidal_positions(tokens, dim), persistent=False)

    def forward(self, x):
        return x + self.pos


class TransformerBlock(nn.Module):
    """Pre-LN encoder block: x + drop(attn(ln1(x))), then x + drop(mlp(ln2(x)))."""

    def __init__(self, dim, heads, mlp_hidden, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_hidden), nn.GELU(), nn.Linear(mlp_hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.drop(self.attn(h, h, h, need_weights=False)[0])
        return x + self.drop(self.mlp(self.ln2(x)))


class TokenPool(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        return x[:, 0] if self.kind == "cls" else x.mean(dim=1)
`;

/** The text of model.py for a graph. */
export function generateModelPy(graph: ModelGraph, info: ExportInfo): string {
  const desc = describeGraph(graph);
  const w = new Writer(new Map(desc.rows.map((r) => [r.name, r])));
  const norm = normalizationOf(graph);
  const title = `${graph.family} classifier${info.runName ? ` "${info.runName}"` : ''}`;
  return `"""${pyDocText(title)}, exported by LayerLab ${pyDocText(info.engineVersion)} on ${pyDocText(info.date.slice(0, 10))}.

Self-contained PyTorch definition of the model: needs only torch and numpy
(it reads safetensors files itself).

    from model import load_model
    model = load_model("weights.safetensors")   # nn.Module in eval mode
    logits = model(pixels)                       # pixels: float32 [N, ${graph.input.join(', ')}], raw 0..255

Input: raw pixel values 0..255, float32 [N, C, H, W]; the normalisation
(x / 255 - mean) / std is inside the model. Output: logits [N, ${graph.classes}].
The state_dict keys of Model() are the tensor names of the weights file.
${info.runId ? `\nRun: ${pyDocText(info.runId)}${info.dataset ? `; dataset: ${pyDocText(info.dataset.name)} (${pyDocText(info.dataset.id)})` : ''}\n` : ''}"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = ${pyLiteral(graph.input).replace(/^\[(.*)\]$/, '($1)')}  # C, H, W
CLASS_NAMES = ${pyLiteral(classNamesOf(graph, info))}
MEAN = ${pyLiteral(norm.mean)}  # per channel, in [0, 1] pixel units
STD = ${pyLiteral(norm.std)}
${RUNTIME}

# ---------------------------------------------------------------- the model
# ${desc.totalParams.toLocaleString('en-US')} trainable parameters.


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = ${w.sequential(graph.layers, 'layers', '        ')}

    def forward(self, pixels):
        """pixels: float32 [N, ${graph.input.join(', ')}], raw 0..255 -> logits [N, ${graph.classes}]."""
        return self.layers(pixels)


def build_model():
    """The architecture with PyTorch's default initialisation (no weights loaded)."""
    return Model()


def load_model(weights_path, device="cpu"):
    """The model with the weights of a safetensors file, in eval mode."""
    model = Model()
    tensors, _metadata = load_safetensors(weights_path)
    state = {k: v for k, v in tensors.items()}
    missing = [k for k in model.state_dict() if k not in state]
    unexpected = [k for k in state if k not in model.state_dict()]
    if missing or unexpected:
        raise ValueError(f"{weights_path} does not match the model: missing {missing}, unexpected {unexpected}")
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python model.py weights.safetensors")
    m = load_model(sys.argv[1])
    with torch.no_grad():
        out = m(torch.zeros(2, *INPUT_SHAPE))
    print(f"{sum(p.numel() for p in m.parameters())} parameters; logits {tuple(out.shape)} for {len(CLASS_NAMES)} classes")
`;
}

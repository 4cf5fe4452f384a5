/**
 * A small builder for an ONNX GraphProto as the plain object protobufjs
 * encodes with the vendored onnx.proto (field names as in the .proto:
 * op_type, data_type, raw_data, …). Tensor values are named; `node` returns
 * the names of its outputs, so the exporter reads like the forward pass.
 */

/** TensorProto.DataType values used here (onnx.proto). */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

/** AttributeProto.AttributeType values (onnx.proto). */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export type AttrValue =
  | { f: number }
  | { i: number }
  | { s: string }
  | { floats: readonly number[] }
  | { ints: readonly number[] }
  | { strings: readonly string[] };

export const attrF = (f: number): AttrValue => ({ f });
export const attrI = (i: number): AttrValue => ({ i });
export const attrS = (s: string): AttrValue => ({ s });
export const attrInts = (ints: readonly number[]): AttrValue => ({ ints });
export const attrStrings = (strings: readonly string[]): AttrValue => ({ strings });

export interface AttributeObject {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface NodeObject {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: AttributeObject[];
  doc_string?: string;
}

export interface TensorObject {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
  doc_string?: string;
}

export interface DimObject {
  dim_value?: number;
  dim_param?: string;
}

export interface ValueInfoObject {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: DimObject[] } } };
  doc_string?: string;
}

const encoder = new TextEncoder();

function attribute(name: string, v: AttrValue): AttributeObject {
  if ('f' in v) return { name, type: ATTR.FLOAT, f: v.f };
  if ('i' in v) return { name, type: ATTR.INT, i: v.i };
  if ('s' in v) return { name, type: ATTR.STRING, s: encoder.encode(v.s) };
  if ('floats' in v) return { name, type: ATTR.FLOATS, floats: [...v.floats] };
  if ('ints' in v) return { name, type: ATTR.INTS, ints: [...v.ints] };
  return { name, type: ATTR.STRINGS, strings: v.strings.map((s) => encoder.encode(s)) };
}

/** Little-endian bytes of a typed array (a copy, so later edits of the source cannot change the model). */
function leBytes(data: Float32Array | BigInt64Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

/** A float32 [N, …] value description with a symbolic batch dimension. */
export function valueInfo(name: string, dims: ReadonlyArray<number | string>, doc?: string): ValueInfoObject {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ONNX_FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
      },
    },
    ...(doc ? { doc_string: doc } : {}),
  };
}

export class OnnxGraphBuilder {
  readonly nodes: NodeObject[] = [];
  readonly initializers: TensorObject[] = [];
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();

  /** A fresh value name based on `hint` (unique within the graph). */
  fresh(hint: string): string {
    let name = hint;
    for (let k = 1; this.used.has(name); k++) name = `${hint}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Reserve a name given from outside (graph inputs, parameter names). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX value name '${name}' used twice (exporter bug)`);
    this.used.add(name);
    return name;
  }

  /** A float32 initializer under exactly `name` (parameter names keep their state_dict key). */
  weight(name: string, shape: readonly number[], data: Float32Array, doc?: string): string {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`initializer '${name}': ${data.length} values for shape [${shape.join(', ')}]`);
    this.initializers.push({
      name: this.reserve(name),
      dims: [...shape],
      data_type: ONNX_FLOAT,
      raw_data: leBytes(data),
      ...(doc ? { doc_string: doc } : {}),
    });
    return name;
  }

  /** A float32 constant (shared between uses when the values are equal). */
  constF32(hint: string, shape: readonly number[], values: ArrayLike<number>): string {
    const key = `f32|${shape.join(',')}|${Array.from(values).join(',')}`;
    const cached = this.constCache.get(key);
    if (cached && values.length <= 64) return cached;
    const name = this.fresh(hint);
    this.initializers.push({ name, dims: [...shape], data_type: ONNX_FLOAT, raw_data: leBytes(Float32Array.from(values)) });
    if (values.length <= 64) this.constCache.set(key, name);
    return name;
  }

  /** An int64 constant (shapes, axes, pads); `shape` [] makes a scalar. */
  constI64(hint: string, values: readonly number[], shape: readonly number[] = [values.length]): string {
    const key = `i64|${shape.join(',')}|${values.join(',')}`;
    const cached = this.constCache.get(key);
    if (cached) return cached;
    const name = this.fresh(hint);
    this.initializers.push({
      name,
      dims: [...shape],
      data_type: ONNX_INT64,
      raw_data: leBytes(BigInt64Array.from(values, (v) => BigInt(v))),
    });
    this.constCache.set(key, name);
    return name;
  }

  /**
   * Append a node. `inputs` may contain '' for an omitted optional input.
   * Returns its output names (`outputs` is a count or explicit names).
   */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue>, where: string, outputs: number | readonly string[] = 1): string[] {
    const outNames =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, k) => this.fresh(`${where}/${opType}${outputs > 1 ? `:${k}` : ''}`))
        : outputs.map((o) => (o === '' ? '' : this.reserve(o)));
    this.nodes.push({
      name: this.fresh(`${where}/${opType}#node`),
      op_type: opType,
      input: [...inputs],
      output: outNames,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outNames;
  }

  /** Shorthand for a single-output node. */
  op(opType: string, inputs: readonly string[], where: string, attrs: Record<string, AttrValue> = {}): string {
    return this.node(opType, inputs, attrs, where)[0];
  }
}

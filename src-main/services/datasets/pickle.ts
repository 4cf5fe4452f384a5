/**
 * A small, strict reader for the pickles in CIFAR's Python version
 * (cifar-10-batches-py, cifar-100-python): protocol 2 dicts of strings,
 * int lists and one numpy uint8 array. It is not a general unpickler and it
 * never runs code: only the opcodes those files use are accepted, and the
 * only "globals" are numpy's array/dtype reconstruction (rebuilt here as
 * plain data) and `_codecs.encode` (how Python 3 pickles bytes). Anything
 * else is refused with the opcode or global named.
 *
 * Opcode reference: CPython's Lib/pickletools.py.
 */
import { DatasetFormatError } from './errors.ts';

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  readonly map = new Map<string, PyValue>();
}
export interface NdArrayU8 {
  kind: 'ndarray';
  shape: number[];
  data: Uint8Array;
}
export type PyValue = null | boolean | number | string | Uint8Array | PyValue[] | PyTuple | PyDict | NdArrayU8 | PyCallable | PartialArray | PyDtype;

/** The whitelisted callables a GLOBAL may name. */
interface PyCallable {
  kind: 'callable';
  name: 'reconstruct' | 'ndarray' | 'dtype' | 'codecs.encode';
}
/** ndarray made by _reconstruct, awaiting its BUILD state. */
interface PartialArray {
  kind: 'partial-array';
}
interface PyDtype {
  kind: 'dtype';
  code: string;
}

const GLOBALS: Record<string, PyCallable['name']> = {
  'numpy.core.multiarray\n_reconstruct': 'reconstruct',
  'numpy._core.multiarray\n_reconstruct': 'reconstruct',
  'numpy\nndarray': 'ndarray',
  'numpy\ndtype': 'dtype',
  '_codecs\nencode': 'codecs.encode',
};

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Dict keys are bytes in Python 2 pickles and str in Python 3; both become JS strings. */
function keyOf(v: PyValue, fail: (m: string) => never): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return latin1(v);
  if (typeof v === 'number') return String(v);
  return fail('a dict key is not a string');
}

export function readPickle(buf: Uint8Array, file: string): PyValue {
  let pos = 0;
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();
  const fail = (msg: string): never => {
    throw new DatasetFormatError(`${file}: not a CIFAR pickle this reader accepts — ${msg} (at byte ${pos}). Use the official CIFAR Python files.`, file);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > buf.length) fail(`the file ends early: ${n} more bytes needed, ${buf.length - pos} left (truncated?)`);
  };
  const u8 = (): number => {
    need(1);
    return buf[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = buf[pos] | (buf[pos + 1] << 8);
    pos += 2;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24);
    pos += 4;
    return v;
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 256) fail('a GLOBAL name is not terminated');
    const s = latin1(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) return fail('the stack is empty where a value was expected');
    return v;
  };
  const popMark = (): PyValue[] => {
    const out: PyValue[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === undefined) return fail('MARK expected but not found');
      if (v === MARK) return out.reverse();
      out.push(v);
    }
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) return fail('the stack is empty where a value was expected');
    return v;
  };
  const setItems = (d: PyValue, items: PyValue[]): void => {
    if (!(d instanceof PyDict)) fail('SETITEM(S) on something that is not a dict');
    if (items.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (d as PyDict).map.set(keyOf(items[i], fail), items[i + 1]);
  };
  const append = (l: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(l)) fail('APPEND(S) on something that is not a list');
    for (const it of items) (l as PyValue[]).push(it);
  };

  const reduce = (fn: PyValue, args: PyValue): PyValue => {
    if (!(args instanceof PyTuple) || typeof fn !== 'object' || fn === null || !('kind' in fn) || fn.kind !== 'callable') {
      return fail('REDUCE of something that is not a whitelisted function');
    }
    const a = args.items;
    switch (fn.name) {
      case 'codecs.encode': {
        if (typeof a[0] !== 'string' || a[1] !== 'latin1') return fail('_codecs.encode with arguments other than (str, "latin1")');
        const s = a[0];
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) {
          const c = s.charCodeAt(i);
          if (c > 255) fail('_codecs.encode of a character outside latin1');
          out[i] = c;
        }
        return out;
      }
      case 'reconstruct': {
        const sub = a[0];
        if (!(typeof sub === 'object' && sub !== null && 'kind' in sub && sub.kind === 'callable' && sub.name === 'ndarray')) {
          return fail('numpy _reconstruct of something other than numpy.ndarray');
        }
        return { kind: 'partial-array' };
      }
      case 'dtype': {
        const code = typeof a[0] === 'string' ? a[0] : a[0] instanceof Uint8Array ? latin1(a[0]) : fail('numpy.dtype without a type code');
        return { kind: 'dtype', code: code as string };
      }
      default:
        return fail(`REDUCE of ${fn.name}`);
    }
  };

  const build = (obj: PyValue, state: PyValue): PyValue => {
    if (typeof obj === 'object' && obj !== null && 'kind' in obj && obj.kind === 'dtype') return obj; // dtype state: byte order etc.; u1 has none
    if (!(typeof obj === 'object' && obj !== null && 'kind' in obj && obj.kind === 'partial-array')) return fail('BUILD on something other than a numpy array');
    if (!(state instanceof PyTuple) || state.items.length !== 5) return fail('numpy array state is not a 5-tuple');
    const [, shapeT, dtype, fortran, raw] = state.items;
    if (!(shapeT instanceof PyTuple) || !shapeT.items.every((d) => typeof d === 'number' && d >= 0)) return fail('numpy array shape is not a tuple of sizes');
    if (!(typeof dtype === 'object' && dtype !== null && 'kind' in dtype && dtype.kind === 'dtype')) return fail('numpy array without a dtype');
    if (dtype.code !== 'u1' && dtype.code !== '|u1' && dtype.code !== 'uint8') return fail(`numpy array of dtype "${dtype.code}", expected uint8 ("u1")`);
    if (fortran === true) return fail('numpy array in Fortran order');
    const shape = shapeT.items as number[];
    const n = shape.reduce((p, d) => p * d, 1);
    const data = typeof raw === 'string' ? reduce({ kind: 'callable', name: 'codecs.encode' }, new PyTuple([raw, 'latin1'])) : raw;
    if (!(data instanceof Uint8Array)) return fail('numpy array data is not bytes');
    if (data.length !== n) return fail(`numpy array of shape (${shape.join(', ')}) needs ${n} bytes but holds ${data.length}`);
    // Mutate in place, as Python's BUILD does, so memo references see the finished array.
    return Object.assign(obj as object, { kind: 'ndarray', shape, data }) as NdArrayU8;
  };

  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 2) fail('pickle protocol above 2');
        break;
      case 0x7d: // EMPTY_DICT }
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST ]
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE )
        stack.push(new PyTuple([]));
        break;
      case 0x28: // MARK (
        stack.push(MARK);
        break;
      case 0x73: {
        // SETITEM s
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS u
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND a
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS e
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x4a: // BININT J
        stack.push(i32());
        break;
      case 0x4b: // BININT1 K
        stack.push(u8());
        break;
      case 0x4d: // BININT2 M
        stack.push(u16());
        break;
      case 0x54: {
        // BINSTRING T (Python 2 str → bytes)
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        stack.push(bytes(n));
        break;
      }
      case 0x55: // SHORT_BINSTRING U
        stack.push(bytes(u8()));
        break;
      case 0x42: {
        // BINBYTES B
        const n = i32();
        if (n < 0) fail('negative BINBYTES length');
        stack.push(bytes(n));
        break;
      }
      case 0x43: // SHORT_BINBYTES C
        stack.push(bytes(u8()));
        break;
      case 0x58: {
        // BINUNICODE X
        const n = i32();
        if (n < 0) fail('negative BINUNICODE length');
        try {
          stack.push(utf8.decode(bytes(n)));
        } catch {
          fail('BINUNICODE that is not valid UTF-8');
        }
        break;
      }
      case 0x4e: // NONE N
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x74: // TUPLE t
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x71: // BINPUT q
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT r
        memo.set(i32(), top());
        break;
      case 0x68: {
        // BINGET h
        const k = u8();
        if (!memo.has(k)) fail(`BINGET of unknown memo ${k}`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x6a: {
        // LONG_BINGET j
        const k = i32();
        if (!memo.has(k)) fail(`LONG_BINGET of unknown memo ${k}`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x63: {
        // GLOBAL c
        const mod = line();
        const name = line();
        const g = GLOBALS[`${mod}\n${name}`];
        if (!g) fail(`global "${mod}.${name}" is not allowed (only numpy array reconstruction is)`);
        stack.push({ kind: 'callable', name: g });
        break;
      }
      case 0x52: {
        // REDUCE R
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args));
        break;
      }
      case 0x62: {
        // BUILD b
        const state = pop();
        const obj = pop();
        stack.push(build(obj, state));
        break;
      }
      case 0x2e: {
        // STOP .
        const v = pop();
        if (stack.length !== 0) fail('values left on the stack at STOP');
        return v;
      }
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} ('${op >= 0x20 && op < 0x7f ? String.fromCharCode(op) : '?'}') is not one CIFAR's pickles use`);
    }
  }
}

// JSON text the way Python's json.dump writes it (separators ", " and ": ", floats in repr form),
// so our `info` is byte-identical to the reference writer's. Floats are marked with `pyFloat`;
// plain JS numbers are written as integers.

export class PyFloat {
  constructor(readonly value: number) {}
}
export const pyFloat = (v: number) => new PyFloat(v);

/** Python's repr(float): shortest round-trip digits; fixed notation for 1e-4 <= |x| < 1e16. */
export function formatPyFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e');
  const exp = Number(expStr);
  const negative = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exp >= -5 && exp < 16) {
    // Python switches to exponent form below 1e-4 (exp < -4) and at 1e16.
    if (exp < -4) return formatExp(sign, digits, exp);
    if (exp >= digits.length - 1) return sign + digits + '0'.repeat(exp - digits.length + 1) + '.0';
    if (exp >= 0) return sign + digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
    return sign + '0.' + '0'.repeat(-exp - 1) + digits;
  }
  return formatExp(sign, digits, exp);
}

function formatExp(sign: string, digits: string, exp: number): string {
  const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
  const e = Math.abs(exp);
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
}

export function pyJson(value: unknown): string {
  if (value instanceof PyFloat) return formatPyFloat(value.value);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return formatPyFloat(value);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return '[' + value.map(pyJson).join(', ') + ']';
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      parts.push(pyString(k) + ': ' + pyJson(v));
    }
    return '{' + parts.join(', ') + '}';
  }
  throw new TypeError(`cannot serialise ${typeof value}`);
}

/** json.dumps with ensure_ascii=True: non-ASCII as \uXXXX escapes. */
function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out + '"';
}

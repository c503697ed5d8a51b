// Coordinate spaces: every accepted form becomes {names, units, scales} with SI prefixes folded into
// the scale (8 nm -> 8e-9 m), as neuroglancer's CoordinateSpace does. `info.dimensions` is built from it.
import type { CoordSpace, CoordSpaceInput } from './types';
import { ExportError } from './errors';

const SI_PREFIXES: Record<string, number> = {
  Y: 24, Z: 21, E: 18, P: 15, T: 12, G: 9, M: 6, k: 3, h: 2, '': 0,
  c: -2, m: -3, u: -6, 'µ': -6, n: -9, p: -12, f: -15, a: -18, z: -21, y: -24,
};
const SI_UNITS = ['m', 's', 'rad/s', 'Hz'];

/** Splits a unit like "nm" into its base unit and power of ten; "" (unitless) is allowed. */
export function parseUnit(unit: string): { base: string; exponent: number } {
  if (unit === '') return { base: '', exponent: 0 };
  for (const base of SI_UNITS) {
    if (unit.endsWith(base)) {
      const prefix = unit.slice(0, unit.length - base.length);
      if (Object.prototype.hasOwnProperty.call(SI_PREFIXES, prefix)) return { base, exponent: SI_PREFIXES[prefix] };
    }
  }
  throw new ExportError(`Unsupported unit ${JSON.stringify(unit)}: expected a unit such as nm, um, m, s, ms, Hz, or "" for none`);
}

/** scale × 10^exponent the way neuroglancer's Python does it (division for negative powers). */
function applyExponent(scale: number, exponent: number): number {
  return exponent >= 0 ? scale * 10 ** exponent : scale / 10 ** -exponent;
}

function checkNames(names: string[], input: unknown): void {
  if (names.length === 0 || names.length > 32) {
    throw new ExportError(`Invalid coordinate space ${JSON.stringify(input)}: expected 1 to 32 dimensions`);
  }
  const seen = new Set<string>();
  for (const n of names) {
    if (typeof n !== 'string' || !/^[a-zA-Z][a-zA-Z0-9_]*$/.test(n)) {
      throw new ExportError(`Invalid coordinate name ${JSON.stringify(n)}: names start with a letter and contain letters, digits or _`);
    }
    if (seen.has(n)) throw new ExportError(`Invalid coordinate space: dimension ${JSON.stringify(n)} appears twice`);
    seen.add(n);
  }
}

function build(names: string[], units: string[], scales: number[], input: unknown): CoordSpace {
  checkNames(names, input);
  if (units.length !== names.length) throw new ExportError(`Invalid coordinate space: ${names.length} names but ${units.length} units`);
  if (scales.length !== names.length) throw new ExportError(`Invalid coordinate space: ${names.length} names but ${scales.length} scales`);
  const outUnits: string[] = [];
  const outScales: number[] = [];
  for (let i = 0; i < names.length; i++) {
    const s = scales[i];
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) {
      throw new ExportError(`Invalid scale ${JSON.stringify(s)} for dimension ${names[i]}: expected a positive number`);
    }
    if (typeof units[i] !== 'string') throw new ExportError(`Invalid unit ${JSON.stringify(units[i])} for dimension ${names[i]}`);
    const { base, exponent } = parseUnit(units[i]);
    outUnits.push(base);
    outScales.push(applyExponent(s, exponent));
  }
  return { names: [...names], units: outUnits, scales: outScales };
}

export function normalizeCoordSpace(input: CoordSpaceInput): CoordSpace {
  if (typeof input === 'string') {
    // "xyz": one character per dimension; "x,y,z" also accepted for the command line's sake.
    const names = input.includes(',') ? input.split(',').map((s) => s.trim()) : [...input];
    return build(names, names.map(() => 'nm'), names.map(() => 1), input);
  }
  if (Array.isArray(input)) {
    return build(input, input.map(() => 'nm'), input.map(() => 1), input);
  }
  if (typeof input === 'object' && input !== null) {
    if ('names' in input) {
      const o = input as { names: unknown; units?: unknown; scales?: unknown };
      for (const k of Object.keys(o)) {
        if (!['names', 'units', 'scales', 'coordinate_arrays'].includes(k)) {
          throw new ExportError(`Invalid coordinate space: unexpected key ${JSON.stringify(k)} (expected names, units, scales)`);
        }
      }
      if (!Array.isArray(o.names)) throw new ExportError('Invalid coordinate space: names must be a list');
      const names = o.names as string[];
      const units = o.units === undefined || o.units === null ? names.map(() => 'nm') : (o.units as string[]);
      const scales = o.scales === undefined || o.scales === null ? names.map(() => 1) : (o.scales as number[]);
      if (!Array.isArray(units) || !Array.isArray(scales)) throw new ExportError('Invalid coordinate space: units and scales must be lists');
      return build(names, units, scales, input);
    }
    // neuroglancer JSON form {x: [scale, unit], ...}; key order is dimension order.
    const entries = Object.entries(input as Record<string, unknown>);
    const names: string[] = [];
    const units: string[] = [];
    const scales: number[] = [];
    for (const [name, v] of entries) {
      if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'string') {
        throw new ExportError(`Invalid coordinate space: ${name} must be [scale, unit], got ${JSON.stringify(v)}`);
      }
      names.push(name);
      scales.push(v[0]);
      units.push(v[1]);
    }
    return build(names, units, scales, input);
  }
  throw new ExportError(`Invalid coordinate space: ${JSON.stringify(input)}`);
}

// Writes the tables of a read dataset to a file our readers read back as the same columns:
// Parquet (hyparquet-writer, uint64 as UINT_64, relationships as LIST<UINT_64>), Arrow IPC
// (apache-arrow) or CSV/TSV (by hand: uint64 as exact decimal text, lists as [1,2]). Beside it, a
// mapping JSON that `ng-annotations export --config` replays to export the same dataset again.
import { rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DataType, Type, tableToIPC, type Table, type Vector } from 'apache-arrow';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { Mapping } from '../shared/mapping';
import type { PropertySpec } from '../core/types';
import type { PrecomputedTable } from './read';

export type TableFormat = 'parquet' | 'csv' | 'tsv' | 'arrow';

export function tableFormatOf(file: string): TableFormat | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.parquet' || ext === '.pq' || ext === '.parq') return 'parquet';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return 'arrow';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Parquet

type SchemaElement = Record<string, unknown>;

function parquetColumn(name: string, v: Vector): { schema: SchemaElement[]; data: unknown[] | ArrayLike<unknown> } {
  const t = v.type as DataType;
  const int = (bitWidth: number, isSigned: boolean, physical: 'INT32' | 'INT64' = 'INT32') => ({
    name,
    type: physical,
    repetition_type: 'REQUIRED',
    converted_type: `${isSigned ? 'INT' : 'UINT'}_${bitWidth}`,
    logical_type: { type: 'INTEGER', bitWidth, isSigned },
  });
  if (DataType.isInt(t)) {
    const i = t as unknown as { bitWidth: number; isSigned: boolean };
    const data = v.toArray();
    // INT32 columns take numbers; the unsigned 32-bit values above 2^31 are written as their bits.
    return { schema: [int(i.bitWidth, i.isSigned, i.bitWidth === 64 ? 'INT64' : 'INT32')], data: i.bitWidth === 64 ? Array.from(data as BigUint64Array) : Array.from(data as ArrayLike<number>) };
  }
  if (DataType.isFloat(t)) return { schema: [{ name, type: 'FLOAT', repetition_type: 'REQUIRED' }], data: v.toArray() as Float32Array };
  if (DataType.isUtf8(t) || DataType.isDictionary(t)) {
    const data: string[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) data[i] = String(v.get(i));
    return { schema: [{ name, type: 'BYTE_ARRAY', repetition_type: 'REQUIRED', converted_type: 'UTF8', logical_type: { type: 'STRING' } }], data };
  }
  if (DataType.isList(t)) {
    const data: bigint[][] = new Array(v.length);
    for (let i = 0; i < v.length; i++) data[i] = Array.from((v.get(i) as Vector).toArray() as BigUint64Array);
    return {
      schema: [
        { name, repetition_type: 'REQUIRED', converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'INT64', repetition_type: 'REQUIRED', converted_type: 'UINT_64', logical_type: { type: 'INTEGER', bitWidth: 64, isSigned: false } },
      ],
      data,
    };
  }
  throw new Error(`column ${name}: no Parquet form for ${t}`);
}

export function tableToParquet(table: Table, metadata: Record<string, string> = {}): Uint8Array {
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((n) => parquetColumn(n, table.getChild(n)!));
  const buf = parquetWriteBuffer({
    columnData: names.map((name, i) => ({ name, data: columns[i].data as never })),
    schema: [{ name: 'root', num_children: names.length }, ...columns.flatMap((c) => c.schema)] as never,
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    rowGroupSize: 1 << 20,
  });
  return new Uint8Array(buf);
}

// ---------------------------------------------------------------------------------------------
// CSV / TSV

// Cells the text reader would not read back as the same text (numbers, booleans, lists, empty, padded).
const NOT_TEXT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)|true|false|\[[\d\s,]*\]|\d+(?:\s*;\s*\d+)+)$/i;

function csvCell(s: string, sep: string): string {
  if (sep === '\t') {
    if (/[\t\n\r]/.test(s)) throw new Error(`a TSV cell cannot hold a tab or a line break: ${JSON.stringify(s.slice(0, 60))}`);
    return s;
  }
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text. An enum column whose labels would not read back as the same text is written as its values. */
export function tableToCsv(table: Table, sep = ',', enums: PropertySpec[] = []): string {
  const fields = table.schema.fields;
  const cols = fields.map((f) => table.getChild(f.name)!);
  const writers = fields.map((f, c): ((i: number) => string) => {
    const v = cols[c];
    const t = f.type as DataType;
    if (t.typeId === Type.Dictionary) {
      const labels = (v.data[0]?.dictionary?.toArray() ?? []) as string[];
      const safe = labels.every((l) => l !== '' && l === l.trim() && !NOT_TEXT.test(l));
      const spec = enums.find((p) => p.id === f.name && p.enum_labels !== undefined);
      if (!safe && spec) {
        // The stored values instead: the mapping's enum_values/enum_labels turn them back into the enum.
        const valueOf = new Map(spec.enum_labels!.map((l, k) => [l, spec.enum_values![k]]));
        return (i) => String(valueOf.get(v.get(i) as string));
      }
      return (i) => csvCell(String(v.get(i)), sep);
    }
    if (DataType.isList(t)) return (i) => csvCell(`[${Array.from((v.get(i) as Vector).toArray() as BigUint64Array).join(',')}]`, sep);
    if (DataType.isUtf8(t)) return (i) => csvCell(String(v.get(i)), sep);
    if (DataType.isFloat(t)) return (i) => {
      const x = v.get(i) as number;
      return Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : String(x);
    };
    return (i) => String(v.get(i));
  });
  const lines: string[] = [fields.map((f) => csvCell(f.name, sep)).join(sep)];
  for (let i = 0; i < table.numRows; i++) {
    let line = '';
    for (let c = 0; c < writers.length; c++) line += (c ? sep : '') + writers[c](i);
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------

export interface WrittenTable {
  files: string[];
  mappingFile: string;
  mapping: Mapping;
}

/** Vertices file beside the main one: table.parquet → table.vertices.parquet. */
export function verticesFileOf(file: string): string {
  const ext = path.extname(file);
  return file.slice(0, file.length - ext.length) + '.vertices' + ext;
}

export function mappingFileOf(file: string): string {
  const ext = path.extname(file);
  return file.slice(0, file.length - ext.length) + '.mapping.json';
}

async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes `t` to `file` (format from its extension unless given), the polyline vertices beside it,
 * and the mapping that exports it again. Refuses to replace existing files unless `overwrite`.
 */
export async function writeTableFiles(t: PrecomputedTable, file: string, options: { format?: TableFormat; overwrite?: boolean } = {}): Promise<WrittenTable> {
  const format = options.format ?? tableFormatOf(file);
  if (format === undefined) throw new Error(`${file}: cannot tell the table format from the extension (use .parquet, .csv, .tsv or .arrow)`);
  const out = path.resolve(file);
  const vfile = t.vertices ? verticesFileOf(out) : undefined;
  const mfile = mappingFileOf(out);
  const all = [out, ...(vfile ? [vfile] : []), mfile];
  if (!options.overwrite) {
    const there = all.filter((f) => existsSync(f));
    if (there.length) throw new Error(`${there[0]} already exists (use --overwrite to replace it)`);
  }
  const encode = (table: Table): Uint8Array | string => {
    if (format === 'parquet') return tableToParquet(table);
    if (format === 'arrow') return tableToIPC(table, 'file');
    return tableToCsv(table, format === 'tsv' ? '\t' : ',', t.properties);
  };
  await writeAtomically(out, encode(t.table));
  if (vfile) await writeAtomically(vfile, encode(t.vertices!));
  const mapping: Mapping = {
    version: 1,
    input: path.basename(out),
    annotationType: t.annotationType,
    coords: t.coords,
    units: t.units,
    scales: t.scales,
    idColumn: 'annotation_id',
  };
  if (t.properties.length) mapping.properties = t.properties;
  if (t.relationships.length) mapping.relationships = t.relationships;
  if (vfile) mapping.points = path.basename(vfile);
  if (t.description !== undefined) mapping.description = t.description;
  await writeAtomically(mfile, JSON.stringify(mapping, null, 2) + '\n');
  return { files: all.slice(0, -1), mappingFile: mfile, mapping };
}

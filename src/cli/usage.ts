// Command-line options declared once: each command's table drives the parser, the --help text (with
// defaults) and the "did you mean" of an unknown option. Adding an option is one row in a table.

import { UserError } from '../shared/errors';

/** A mistake in how the command was called: exit status 2, one line and "see --help". */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Long name without the dashes, e.g. `chunk-limit`. */
  name: string;
  short?: string;
  /** A string option takes a value (`--out DIR`); a flag does not. */
  type: 'string' | 'flag';
  multiple?: boolean;
  /** Placeholder of the value in the help, e.g. `DIR`. */
  value?: string;
  /** What the help shows as the default (omitted: no default shown). */
  default?: string;
  help: string;
  /** Heading the option is listed under. */
  group?: string;
  /** Not listed in the help (kept working for old command lines). */
  hidden?: boolean;
}

export interface CommandSpec {
  /** e.g. `export` */
  name: string;
  /** The synopsis after `Usage: ng-annotations ` */
  synopsis: string;
  /** One or two sentences. */
  summary: string;
  /** The documentation page, e.g. `docs/cli.md#export`. */
  docs: string;
  options: OptionSpec[];
  /** Lines after the options (e.g. an example). */
  footer?: string[];
}

export interface Parsed {
  values: Record<string, string | string[] | boolean | undefined>;
  positionals: string[];
}

/** Edit distance (insertions, deletions, substitutions and swaps of neighbours), for suggestions. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known word nearest to `word` (a prefix of it, or within a few edits), if any. */
export function nearest(word: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((k) => k.startsWith(word) || word.startsWith(k));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : prefixed[0];
}

/**
 * Parses `argv` against the command's options. `--name value`, `--name=value`, `-o value`; a value
 * may start with a dash (`--chunk-limit -5` is then checked as a number, not taken for an option)
 * unless it is a known option. `--` ends the options.
 */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): Parsed {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const byShort = new Map(spec.options.filter((o) => o.short).map((o) => [o.short!, o]));
  const values: Parsed['values'] = {};
  const positionals: string[] = [];
  const isKnownOption = (a: string) => (a.startsWith('--') ? byName.has(a.slice(2).split('=')[0]!) : a.length === 2 && byShort.has(a[1]!));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let opt: OptionSpec | undefined;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (eq >= 0) inline = arg.slice(eq + 1);
      opt = byName.get(name);
      shown = `--${name}`;
      if (!opt) {
        const near = nearest(name, spec.options.filter((o) => !o.hidden).map((o) => o.name));
        throw new UsageError(`unknown option --${name}${near ? ` (did you mean --${near}?)` : ''}`);
      }
    } else {
      const letter = arg[1]!;
      opt = byShort.get(letter);
      shown = `-${letter}`;
      if (arg.length > 2) inline = arg.slice(2);
      if (!opt) {
        // `-5` where a number was meant, `-coords` for `--coords`…
        const near = nearest(arg.replace(/^-+/, ''), spec.options.filter((o) => !o.hidden).map((o) => o.name));
        throw new UsageError(`unknown option ${arg}${near ? ` (did you mean --${near}?)` : ''}`);
      }
    }
    if (opt.type === 'flag') {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value (got ${JSON.stringify(inline)})`);
      values[opt.name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-' && isKnownOption(next))) {
        throw new UsageError(`${shown} needs a value${opt.value ? ` (${opt.value})` : ''}${next !== undefined ? `, got the option ${next}` : ''}`);
      }
      value = next;
      i++;
    }
    if (opt.multiple) values[opt.name] = [...((values[opt.name] as string[] | undefined) ?? []), value];
    else {
      if (values[opt.name] !== undefined && values[opt.name] !== value) throw new UsageError(`--${opt.name} given twice (${JSON.stringify(values[opt.name])} and ${JSON.stringify(value)})`);
      values[opt.name] = value;
    }
  }
  return { values, positionals };
}

/** The help text: synopsis, summary, docs link, the options by group with their defaults. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [`Usage: ng-annotations ${spec.synopsis}`, '', spec.summary, `Docs: ${spec.docs}`];
  const shown = spec.options.filter((o) => !o.hidden);
  const left = (o: OptionSpec) => `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}`;
  const width = Math.min(30, Math.max(...shown.map((o) => left(o).length)) + 2);
  let group: string | undefined = '\0';
  for (const o of shown) {
    if (o.group !== group) {
      group = o.group;
      lines.push('', `${group ?? 'Options'}:`);
    }
    const l = `  ${left(o)}`;
    const text = `${o.help}${o.default !== undefined ? ` (default: ${o.default})` : ''}`;
    lines.push(l.length + 1 > width + 2 ? `${l}\n${' '.repeat(width + 2)}${text}` : `${l.padEnd(width + 2)}${text}`);
  }
  if (spec.footer?.length) lines.push('', ...spec.footer);
  return lines.join('\n');
}

/** What a usage error prints: one line, then where the help is. */
export function usageErrorText(command: string | undefined, message: string): string {
  const cmd = command ? `ng-annotations ${command}` : 'ng-annotations';
  return `${cmd}: ${message}\nsee '${cmd} --help'\n`;
}

// The command line's help and usage errors: every option with its default, one casing, a docs link,
// one line plus "see --help" on a mistake, the nearest option suggested.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ensureBuilt, runCli } from './helpers/cli';
import { EXPORT_SPEC } from '../src/cli/export';
import { nearest, parseCommand, UsageError } from '../src/cli/usage';

before(() => ensureBuilt());

/** Runs a usage mistake and returns its one message line (after checking exit 2 and the "see --help" line). */
async function usageError(args: string[], cmd = 'export'): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 2, `exit 2 for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 2, `one message line and "see --help", got:\n${r.stderr}`);
  assert.equal(lines[1], `see 'ng-annotations ${cmd} --help'`);
  assert.equal(r.stdout, '');
  return lines[0]!;
}

describe('help', { concurrency: 4 }, () => {
  it('export --help lists every option with its default; --out is not shown as required', async () => {
    const r = await runCli(['export', '--help']);
    assert.equal(r.code, 0);
    for (const o of EXPORT_SPEC.options) {
      if (o.hidden) continue;
      const line = r.stdout.split('\n').find((l) => l.includes(`--${o.name}${o.value ? ` ${o.value}` : ''} `) || l.trimEnd().endsWith(`--${o.name}`));
      assert.ok(line, `--${o.name} is listed`);
      if (o.default !== undefined) assert.ok(r.stdout.includes(`(default: ${o.default})`), `--${o.name} shows its default ${o.default}`);
    }
    assert.match(r.stdout, /^Usage: ng-annotations export <table-file> --type <type> \[options\]$/m);
    assert.match(r.stdout, /--out DIR\s+output folder \(default: <stem>\.precomputed beside the table\)/);
    assert.doesNotMatch(r.stdout.split('\n')[0]!, /--out/);
  });

  it('every command: "Usage:", a link to its docs page, fits a screen', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /^Usage: ng-annotations <command>/m);
    assert.match(top.stdout, /Docs: docs\/cli\.md/);
    for (const cmd of ['export', 'serve', 'inspect', 'demo']) {
      const r = await runCli([cmd, '--help']);
      assert.equal(r.code, 0, `${cmd} --help`);
      assert.match(r.stdout, new RegExp(`^Usage: ng-annotations ${cmd}\\b`), `${cmd}: "Usage:" first`);
      assert.match(r.stdout, new RegExp(`Docs: docs/cli\\.md#${cmd}`), `${cmd} links to its docs section`);
      assert.doesNotMatch(r.stdout, /usage:/, `${cmd}: one casing`);
      const lines = r.stdout.trimEnd().split('\n');
      assert.ok(lines.length <= 56, `${cmd} --help is ${lines.length} lines`);
    }
  });
});

describe('usage errors', { concurrency: 4 }, () => {
  it('an unknown option suggests the nearest one', async () => {
    assert.equal(await usageError(['export', 'a.csv', '--type', 'point', '--coord', 'x,y,z']), 'ng-annotations export: unknown option --coord (did you mean --coords?)');
    assert.match(await usageError(['export', 'a.csv', '--type', 'point', '--chunklimit', '5']), /unknown option --chunklimit \(did you mean --chunk-limit\?\)/);
    assert.match(await usageError(['serve', 'd', '--prot', '8080'], 'serve'), /unknown option --prot \(did you mean --port\?\)/);
    assert.match(await usageError(['inspect', 'd', '--jsn'], 'inspect'), /unknown option --jsn \(did you mean --json\?\)/);
    const r = await runCli(['expor']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ng-annotations: unknown command "expor" \(did you mean export\?\)\nsee 'ng-annotations --help'\n$/);
  });

  it('--chunk-limit -5 says what is wrong (not "argument is ambiguous")', async () => {
    const m = await usageError(['export', 'a.csv', '--type', 'point', '--chunk-limit', '-5']);
    assert.match(m, /--chunk-limit must be between 0 and \d+, got -5/);
    assert.doesNotMatch(m, /ambiguous/);
    assert.match(await usageError(['export', 'a.csv', '--type', 'point', '--seed', '-1']), /--seed must be a whole number >= 0, got -1/);
  });

  it('--type lines talks about --type, not annotationType', async () => {
    const m = await usageError(['export', 'a.csv', '--type', 'lines']);
    assert.match(m, /--type expects one of point, line, axis_aligned_bounding_box, ellipsoid, polyline, got "lines" \(did you mean line\?\)/);
    assert.doesNotMatch(m, /annotationType/);
  });

  it('a value that is missing, or a flag given a value', async () => {
    assert.match(await usageError(['export', 'a.csv', '--type']), /--type needs a value \(TYPE\)/);
    assert.match(await usageError(['export', 'a.csv', '--out', '--type', 'point']), /--out needs a value \(DIR\), got the option --type/);
    assert.match(await usageError(['export', 'a.csv', '--type', 'point', '--overwrite=yes']), /--overwrite takes no value/);
  });
});

describe('the option table', () => {
  it('parses --name value, --name=value, -o value, repeats and --', () => {
    const p = parseCommand(EXPORT_SPEC, ['t.csv', '--type=line', '-o', 'out', '--property-type', 'a=uint8', '--property-type', 'b=int8', '--chunk-limit', '-5', '--', '--weird.csv']);
    assert.deepEqual(p.positionals, ['t.csv', '--weird.csv']);
    assert.deepEqual([p.values.type, p.values.out, p.values['property-type'], p.values['chunk-limit']], ['line', 'out', ['a=uint8', 'b=int8'], '-5']);
    assert.throws(() => parseCommand(EXPORT_SPEC, ['--type', 'point', '--type', 'line']), UsageError);
  });
  it('suggests by prefix or small edit distance, nothing for far-off words', () => {
    assert.equal(nearest('coord', ['coords', 'units']), 'coords');
    assert.equal(nearest('untis', ['coords', 'units']), 'units');
    assert.equal(nearest('zzzzzz', ['coords', 'units']), undefined);
  });
});

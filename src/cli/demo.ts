// `ng-annotations demo`: exports the bundled synapse sample so a new user sees the whole path work.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { writePrecomputedAnnotations } from '../export/run';
import { describeSummary } from './export';
import { UsageError, formatHelp, parseCommand, type CommandSpec } from './usage';

export const DEMO_SPEC: CommandSpec = {
  name: 'demo',
  synopsis: 'demo [--out <dir>]',
  summary: 'Exports the bundled synapse sample (examples/synapses.csv) as points, to see the whole path work.',
  docs: 'docs/cli.md#demo',
  options: [
    { name: 'out', short: 'o', type: 'string', value: 'DIR', help: 'output folder', default: './demo-output/synapses.precomputed' },
    { name: 'help', short: 'h', type: 'flag', help: 'this help' },
  ],
};

function sampleFile(): string {
  // dist/cli.js and src/cli/demo.ts both sit two levels below the package root.
  for (const up of ['..', '../..']) {
    const p = path.resolve(__dirname, up, 'examples', 'synapses.csv');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('the bundled sample examples/synapses.csv is missing from this installation');
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(DEMO_SPEC, argv);
  const values = parsed.values as { out?: string; help?: boolean };
  if (parsed.positionals.length) throw new UsageError(`demo takes no file arguments, got ${parsed.positionals.join(' ')}`);
  if (values.help) {
    process.stdout.write(formatHelp(DEMO_SPEC) + '\n');
    return 0;
  }
  const input = sampleFile();
  const out = path.resolve(values.out ?? path.join('demo-output', 'synapses.precomputed'));
  const summary = await writePrecomputedAnnotations(input, { names: ['x', 'y', 'z'], units: ['nm', 'nm', 'nm'], scales: [8, 8, 40] }, 'point', {
    outputDir: out,
    properties: ['confidence', 'kind', 'color'],
    relationships: ['pre_body', 'post_body'],
    overwrite: true,
    seed: 1,
    description: 'ng-annotations demo: synthetic synapses',
  });
  // How this command was started, so the hint works without a global install (npm run demo).
  const script = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : '';
  const cli = script.endsWith('.js') ? `node ${script}` : 'ng-annotations';
  process.stdout.write(`Sample: ${input}\n${describeSummary(summary)}\n\nView it:  ${cli} serve ${path.relative(process.cwd(), out) || '.'}\n`);
  return 0;
}

// `ng-annotations demo`: exports the bundled synapse sample so a new user sees the whole path work.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { writePrecomputedAnnotations } from '../core/write';
import { describeSummary } from './export';
import { UsageError } from './usage';

function sampleFile(): string {
  // dist/cli.js and src/cli/demo.ts both sit two levels below the package root.
  for (const up of ['..', '../..']) {
    const p = path.resolve(__dirname, up, 'examples', 'synapses.csv');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('the bundled sample examples/synapses.csv is missing from this installation');
}

export async function run(argv: string[]): Promise<number> {
  let values: { out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write('Usage: ng-annotations demo [--out <dir>]   (default: ./demo-output/synapses.precomputed)\n');
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

// The `ng-annotations` command: export, serve, inspect, demo.
import { AbortError, UserError } from '../shared/errors';
import { UsageError, nearest, usageErrorText } from './usage';
import { relaunched, watchParent } from './relaunch';
import { version } from '../../package.json';

const USAGE = `ng-annotations ${version}: tables (CSV, TSV, Parquet, Arrow/Feather) to neuroglancer precomputed annotations

Usage: ng-annotations <command> [options]

Commands:
  ng-annotations export <table-file> --type <type> [options]               write a dataset
  ng-annotations serve <dir> [--port N]                                    serve it on 127.0.0.1 with a neuroglancer link
  ng-annotations inspect <dir>                                             summary and consistency check of a dataset
  ng-annotations demo [--out <dir>]                                        export the bundled sample
  ng-annotations to-table <dir|url> --out <table.parquet|.csv|.arrow>      a dataset back to a table
  ng-annotations from-state <state.json|link> [--layer NAME] --out <dir>   a state's annotation layer to a dataset

Run 'ng-annotations <command> --help' for a command's options. Docs: docs/cli.md`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  export: async () => (await import('./export')).run,
  serve: async () => (await import('./serve')).run,
  inspect: async () => (await import('./inspect')).run,
  demo: async () => (await import('./demo')).run,
  'to-table': async () => (await import('./roundtrip')).runToTable,
  'from-state': async () => (await import('./roundtrip')).runFromState,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(version + '\n');
    return 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    const near = nearest(cmd, Object.keys(COMMANDS));
    process.stderr.write(usageErrorText(undefined, `unknown command ${JSON.stringify(cmd)}${near ? ` (did you mean ${near}?)` : ''}`));
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(usageErrorText(cmd, e.message));
      return 2;
    }
    // Readers and writers throw AbortError; the name also catches a third-party library's DOMException.
    if (e instanceof AbortError || (e as Error)?.name === 'AbortError') {
      process.stderr.write('ng-annotations: cancelled; nothing was written\n');
      return 130;
    }
    const known = e instanceof UserError;
    const message = (e as Error)?.message ?? String(e);
    process.stderr.write(`error: ${message.split('\n')[0]}\n`);
    if (!known && process.env.NG_ANNOTATIONS_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  let settled = false;
  // A command left waiting on a promise that nothing will settle would otherwise end with status 0.
  process.on('beforeExit', () => {
    if (settled) return;
    process.stderr.write('error: internal error: the command stopped before it finished (it was left waiting on nothing); please report this\n');
    process.exit(70);
  });
  watchParent();
  (relaunched(process.argv.slice(2)) ?? main(process.argv.slice(2))).then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (e) => {
      settled = true;
      process.stderr.write(`error: ${(e as Error)?.message ?? e}\n`);
      process.exitCode = 1;
    },
  );
}

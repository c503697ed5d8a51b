// Runs test/vscode/suite (bundled to test-output/vscode-suite/index.js) INSIDE code-server's Node
// extension host. The web workbench reads a `payload` query parameter; extensionDevelopmentPath and
// extensionTestsPath there (as vscode-remote:// URIs, honoured with the smoke-test driver enabled)
// load the extension and call the suite's run(). When run() settles the
// extension host exits and the workbench calls window.codeAutomationExit(code).
// Env: VSIX (default ng-annotations.vsix), EXTHOST_GREP (run only matching tests), SHOTS.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ENTRY, launchChromium, log, makeSandbox, NODE, ROOT, SHOTS, startCodeServer } from './harness.mjs';

const TESTS = path.join(ROOT, 'test-output/vscode-suite/index.js');
const VSIX = path.resolve(process.env.VSIX ?? path.join(ROOT, 'ng-annotations.vsix'));
const sb = makeSandbox({ 'readme.txt': 'extension-host test workspace\n' });
// The extension under test is the packaged .vsix, unpacked by code-server into a staging folder and
// loaded from there as the development extension: what users get, and immune to a concurrent rebuild of dist/.
const staged = `${sb.dirs.root}/staged`;
execFileSync(NODE, [ENTRY, '--user-data-dir', `${sb.dirs.root}/staging-ud`, '--extensions-dir', staged, '--install-extension', VSIX], { env: sb.env });
const extDir = path.join(staged, fs.readdirSync(staged).find((d) => d.startsWith('ng-annotations.ng-annotations-')));
const resultFile = `${sb.dirs.root}/exthost-result.txt`;
const logFile = `${sb.dirs.root}/exthost-mocha.log`;
const cs = await startCodeServer(sb, `${SHOTS}/code-server-exthost.log`, ['--vscode-option', 'enable-smoke-test-driver']);
log('code-server up on', cs.base);
const remote = (p) => `vscode-remote://127.0.0.1:${cs.port}${p}`;
const payload = [
  ['extensionDevelopmentPath', remote(extDir)],
  ['extensionTestsPath', remote(TESTS)],
  ['extensionEnvironment', JSON.stringify({ EXTHOST_RESULT_FILE: resultFile, EXTHOST_LOG_FILE: logFile, EXTHOST_GREP: process.env.EXTHOST_GREP ?? '' })],
];
const ctx = await launchChromium(sb);
const page = ctx.pages()[0] ?? (await ctx.newPage());
let code;
const exited = new Promise((resolve) => {
  void page.exposeFunction('codeAutomationExit', (c) => {
    code = c;
    resolve();
  });
});
page.on('console', (m) => {
  if (m.type() === 'error') fs.appendFileSync(`${SHOTS}/exthost-browser-console.log`, m.text() + '\n');
});
await page.goto(`${cs.base}/?folder=${encodeURIComponent(sb.dirs.ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error('no exit from the extension host in 180 s')), 180_000));
let ok = false;
try {
  await Promise.race([exited, timeout]);
  const summary = fs.existsSync(resultFile) ? fs.readFileSync(resultFile, 'utf8').trim() : '(no result file)';
  if (fs.existsSync(logFile)) process.stdout.write(fs.readFileSync(logFile, 'utf8'));
  log(`extension host exited with code ${code}; mocha: ${summary}`);
  ok = code === 0 && /^\d+ passed, 0 failed$/.test(summary);
} catch (e) {
  await page.screenshot({ path: `${SHOTS}/exthost-failure.png` }).catch(() => {});
  if (fs.existsSync(logFile)) process.stdout.write(fs.readFileSync(logFile, 'utf8'));
  console.error(e);
} finally {
  await ctx.close();
  cs.stop();
  sb.cleanup();
}
process.exit(ok ? 0 : 1);

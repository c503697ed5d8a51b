// Preloaded into benchmarked processes: report peak RSS (KiB) on exit.
process.on('exit', () => {
  process.stderr.write(`maxRSS=${process.resourceUsage().maxRSS}\n`);
});

// A real S3-compatible server (s3rver) in its own process, so a test can kill it mid-upload.
// argv[2]: JSON {dir, buckets: string[], cors: boolean}. Prints {"port": N} once listening on 127.0.0.1.
const S3rver = require('s3rver');
const cfg = JSON.parse(process.argv[2]);
const CORS = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>Content-Range</ExposeHeader><ExposeHeader>Content-Length</ExposeHeader><ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>`;
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: !process.env.S3RVER_LOG,
  directory: cfg.dir,
  configureBuckets: cfg.buckets.map((name) => ({ name, configs: cfg.cors ? [CORS] : [] })),
});
server.run().then(
  ({ port }) => process.stdout.write(JSON.stringify({ port }) + '\n'),
  (e) => {
    process.stderr.write(String(e?.stack ?? e) + '\n');
    process.exit(1);
  },
);
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));

// A raw HTTP/1.1 client for the preview-server tests: request lines go out verbatim (HTTP client
// libraries would normalise `..` and encodings away before they reach the server).
import * as net from 'node:net';
import { limit } from './bounded';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends `requestLine` and headers verbatim and reads the whole response (Connection: close). Fails if
 * the server has not closed the connection within 15 s (scaled by TEST_TIME_SCALE).
 */
export function raw(port: number, requestLine: string, headers: Record<string, string | null> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const max = limit(15_000);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out after ${max / 1000} s waiting for the whole answer to ${JSON.stringify(requestLine)} on port ${port}`));
    }, max);
    sock.on('close', () => clearTimeout(timer));
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const all = Buffer.concat(chunks);
      const sep = all.indexOf('\r\n\r\n');
      const lines = all.subarray(0, sep).toString('latin1').split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const h: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        h[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status, headers: h, body: all.subarray(sep + 4) });
    });
    // A `Host` in `headers` replaces the default one; `Host: null` sends none.
    const host = Object.entries(headers).find(([k]) => k.toLowerCase() === 'host');
    let req = `${requestLine}\r\n`;
    if (!host) req += `Host: 127.0.0.1:${port}\r\n`;
    else if (host[1] !== null) req += `Host: ${host[1]}\r\n`;
    req += 'Connection: close\r\n';
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'host') req += `${k}: ${v}\r\n`;
    sock.write(req + '\r\n', 'latin1');
  });
}

// A one-line progress bar on stderr (only when it is a terminal).
import type { Progress } from '../core/types';

const LABELS: Record<Progress['phase'], string> = {
  reading: 'Reading',
  validating: 'Checking',
  by_id: 'Writing by_id',
  by_relationship: 'Writing by_rel',
  spatial_assign: 'Assigning cells',
  spatial: 'Writing spatial',
  finishing: 'Finishing',
};

export class ProgressBar {
  private last = 0;
  private shown = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: Progress): void {
    const now = Date.now();
    if (now - this.last < 100 && p.done !== p.total) return;
    this.last = now;
    const width = 30;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const filled = Math.round(frac * width);
    const label = `${LABELS[p.phase]}${p.detail ? ` ${p.detail}` : ''}`;
    const up = p.uploadedBytes !== undefined ? `  ${(p.uploadedBytes / 1e6).toFixed(1)} MB uploaded` : '';
    const line = `${label.padEnd(28)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%${up}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 80) - 1)}\x1b[K`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }

  done(): void {
    this.clear();
  }
}

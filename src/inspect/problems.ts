// Collects problems, keeping the first few of each kind so a badly broken dataset gives a readable
// report instead of a million lines.
import type { Problem, Severity } from './info';

const KEEP_PER_KIND = 10;

export class Problems {
  readonly list: Problem[] = [];
  private kinds = new Map<string, { n: number; severity: Severity }>();

  /** `kind` groups repetitions of one mistake (default: the message itself). */
  add(severity: Severity, where: string, message: string, kind = message): void {
    const k = this.kinds.get(kind) ?? { n: 0, severity };
    k.n++;
    this.kinds.set(kind, k);
    if (k.n <= KEEP_PER_KIND) this.list.push({ severity, where, message });
  }
  error(where: string, message: string, kind?: string): void {
    this.add('error', where, message, kind);
  }
  warn(where: string, message: string, kind?: string): void {
    this.add('warning', where, message, kind);
  }
  /** The kept problems, plus one "N more like this" line per kind that was cut short. */
  finish(): Problem[] {
    const out = [...this.list];
    for (const [kind, { n, severity }] of this.kinds) {
      if (n > KEEP_PER_KIND) out.push({ severity, where: '…', message: `${n - KEEP_PER_KIND} more: ${kind}` });
    }
    return out;
  }
  get errorCount(): number {
    let n = 0;
    for (const { n: c, severity } of this.kinds.values()) if (severity === 'error') n += c;
    return n;
  }
}

// The one message protocol between the webview form, the extension host and the export worker.
// Each side declares what it *sends*: requests (which get exactly one reply) and events (fire and
// forget). One `Endpoint` class drives all three links. Nothing here imports vscode or node, so the
// webview bundle can share it. Messages arriving at the host from the webview are untrusted: the
// envelope is checked by `parseEnvelope` and every body by the handler (mappings by `parseMapping`).
import type { Progress, PropertySpec, WriteSummary } from './types';

/** A problem the form shows next to a field (`field` is a mapping key such as `coords` or `properties[2]`). */
export interface Problem {
  field: string;
  message: string;
}

export interface ColumnInfo {
  name: string;
  type: string;
}

export interface TablePreview {
  columns: ColumnInfo[];
  rows: string[][];
  totalRows?: number;
}

/** What the host knows about the file when the form opens. */
export interface FormInit {
  file: { path: string; name: string; format: string };
  preview: TablePreview | null;
  previewError?: string;
  /** The form's state: the remembered mapping for this file, or the guessed one. */
  state: FormState;
  /** Whether `state` was remembered (true) or guessed (false). */
  remembered: boolean;
  defaults: { outputDir: string };
}

/** Everything the form edits; `mapping` is sent to the host as untrusted JSON. */
export interface FormState {
  mapping: import('./mapping').Mapping;
  /** Columns the form offers as properties (checked or not), in table order. */
  propertyColumns: string[];
}

/** What reading the whole table says about one property column: its exact spec, or why it cannot be one. */
export interface InspectedProperty {
  id: string;
  spec?: PropertySpec;
  /** Number of enum labels when `spec.enum_labels` was cut short for the message. */
  labelCount?: number;
  error?: string;
}

export interface Inspection {
  rows: number;
  properties: InspectedProperty[];
}

export interface ExportOutcome {
  ok: boolean;
  summary?: WriteSummary;
  cancelled?: boolean;
  /** The writer's exact reason when it failed. */
  error?: string;
  problems?: Problem[];
}

/** Webview → host. */
export interface WebviewSends {
  requests: {
    validate: { req: { mapping: unknown }; res: { problems: Problem[]; commandLine: string } };
    export: { req: { mapping: unknown }; res: ExportOutcome };
    saveMapping: { req: { mapping: unknown }; res: { path?: string } };
    copyCommandLine: { req: { mapping: unknown }; res: { commandLine: string } };
    pickPath: { req: { purpose: 'points' | 'output'; current?: string }; res: { path?: string } };
  };
  events: {
    ready: Record<string, never>;
    /** The form changed: the host remembers the state for this file. */
    stateChanged: { state: unknown };
    cancelExport: Record<string, never>;
  };
}

/** Host → webview. */
export interface HostSends {
  requests: Record<never, never>;
  events: {
    init: FormInit;
    progress: { progress: Progress; percent: number };
    exportFinished: ExportOutcome;
    /** The whole table was read in the background: exact property types, or errors. */
    inspected: Inspection;
  };
}

/** Host → worker. */
export interface HostToWorker {
  requests: {
    /** Paths are absolute. */
    export: { req: { input: string | null; mapping: import('./mapping').Mapping }; res: WriteSummary };
    /** The first rows as display strings, and the column types. */
    preview: { req: { input: string; rows: number }; res: TablePreview };
    /** Reads `input` (only the columns needed) and infers each property as the writer would. */
    inspect: { req: { input: string; columns: string[]; properties: string[] }; res: Inspection };
  };
  events: { cancel: Record<string, never> };
}

/** Worker → host. */
export interface WorkerToHost {
  requests: Record<never, never>;
  events: {
    progress: Progress;
    warning: { message: string };
  };
}

interface Side {
  requests: Record<string, { req: unknown; res: unknown }>;
  events: Record<string, unknown>;
}

export type Envelope =
  | { kind: 'event'; type: string; body: unknown }
  | { kind: 'request'; id: number; type: string; body: unknown }
  | { kind: 'reply'; id: number; ok: true; body: unknown }
  | { kind: 'reply'; id: number; ok: false; error: { message: string; problems?: Problem[] } };

/** An error whose `problems` travel with the reply so the form can show them next to the fields. */
export class ReplyError extends Error {
  constructor(
    message: string,
    readonly problems?: Problem[],
  ) {
    super(message);
    this.name = 'ReplyError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the envelope of an incoming (possibly untrusted) message; returns null if it is not one of ours. */
export function parseEnvelope(m: unknown): Envelope | null {
  if (!isRecord(m) || typeof m.kind !== 'string') return null;
  const idOk = typeof m.id === 'number' && Number.isSafeInteger(m.id);
  if (m.kind === 'event' && typeof m.type === 'string') return { kind: 'event', type: m.type, body: m.body };
  if (m.kind === 'request' && idOk && typeof m.type === 'string') return { kind: 'request', id: m.id as number, type: m.type, body: m.body };
  if (m.kind === 'reply' && idOk) {
    if (m.ok === true) return { kind: 'reply', id: m.id as number, ok: true, body: m.body };
    const e = isRecord(m.error) ? m.error : {};
    return {
      kind: 'reply',
      id: m.id as number,
      ok: false,
      // (a message that is not a string, e.g. {"toString": 1}, would make String() throw)
      error: { message: typeof e.message === 'string' ? e.message.slice(0, 10000) : 'unknown error', problems: Array.isArray(e.problems) ? (e.problems as Problem[]) : undefined },
    };
  }
  return null;
}

type Handlers<S extends Side> = {
  requests: { [K in keyof S['requests']]: (body: S['requests'][K]['req']) => Promise<S['requests'][K]['res']> | S['requests'][K]['res'] };
  events: { [K in keyof S['events']]?: (body: S['events'][K]) => void };
};

/**
 * One end of a link. `Out` is what this end sends, `In` what the other end sends. `post` delivers a
 * message to the other end; call `receive` with every message from it. Bodies of incoming requests and
 * events are typed as declared, but a host receiving from a webview must still check them.
 */
export class Endpoint<Out extends Side, In extends Side> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly post: (m: Envelope, transfer?: ArrayBuffer[]) => void,
    private readonly handlers: Handlers<In>,
  ) {}

  request<K extends keyof Out['requests'] & string>(type: K, body: Out['requests'][K]['req']): Promise<Out['requests'][K]['res']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ kind: 'request', id, type, body });
    });
  }

  emit<K extends keyof Out['events'] & string>(type: K, body: Out['events'][K], transfer?: ArrayBuffer[]): void {
    this.post({ kind: 'event', type, body }, transfer);
  }

  /** Fails every request still waiting (the other end went away). */
  dispose(reason = 'the other side closed'): void {
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }

  async receive(raw: unknown): Promise<void> {
    const m = parseEnvelope(raw);
    if (!m) return;
    if (m.kind === 'reply') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.body);
      else p.reject(new ReplyError(m.error.message, m.error.problems));
      return;
    }
    if (m.kind === 'event') {
      const h = (this.handlers.events as Record<string, ((b: unknown) => void) | undefined>)[m.type];
      if (Object.hasOwn(this.handlers.events, m.type) && h) h(m.body);
      return;
    }
    const h = (this.handlers.requests as Record<string, (b: unknown) => unknown>)[m.type];
    if (!Object.hasOwn(this.handlers.requests, m.type) || !h) {
      this.post({ kind: 'reply', id: m.id, ok: false, error: { message: `unknown request ${JSON.stringify(m.type).slice(0, 100)}` } });
      return;
    }
    try {
      const body = await h(m.body);
      this.post({ kind: 'reply', id: m.id, ok: true, body });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const problems = e instanceof ReplyError ? e.problems : undefined;
      this.post({ kind: 'reply', id: m.id, ok: false, error: { message, problems } });
    }
  }
}

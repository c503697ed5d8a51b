// The public types of the writer live in shared/types.ts (the webview and the CLI use them too).
export * from '../shared/types';

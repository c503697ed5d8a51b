// The guessing code lives in src/shared/guess.ts (shared with the webview and the CLI).
export * from '../shared/guess';

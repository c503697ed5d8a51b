// Telling a URL from a path, without Node (the form checks it as the user types, too).

/** Does `s` look like a URL rather than a path? (`C:\…` and `./s3` do not.) */
export function looksLikeUrl(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]+:\/\//.test(s) || /^(s3|gs):/i.test(s);
}

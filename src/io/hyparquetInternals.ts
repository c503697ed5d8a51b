// The parts of hyparquet we use that its package does not export: its page-header parser, page
// decompression and schema helpers, imported from its source files. In one place, so an upgrade of
// hyparquet (pinned in package.json) has one file to check: the page check (parquetPages.ts) mirrors
// hyparquet's own walk with exactly these.
export { parquetHeader } from 'hyparquet/src/column.js';
export { decompressPage } from 'hyparquet/src/datapage.js';
export { getMaxDefinitionLevel, getMaxRepetitionLevel, getTreePath, isFlatColumn } from 'hyparquet/src/schema.js';

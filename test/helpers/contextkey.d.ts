// Types for the part of VS Code's own context-key code (shipped in monaco-editor's ESM build) that
// test/helpers/whenClause.ts uses to parse and evaluate manifest `when` clauses.
declare module 'monaco-editor/platform/contextkey/common/contextkey.js' {
  export interface ContextKeyExpression {
    readonly type: number;
    serialize(): string;
    evaluate(context: { getValue(key: string): unknown }): boolean;
  }
  export const ContextKeyExpr: { deserialize(serialized: string | null | undefined): ContextKeyExpression | undefined };
  export const ContextKeyEqualsExpr: { create(key: string, value: unknown): ContextKeyExpression };
  export const ContextKeyNotEqualsExpr: { create(key: string, value: unknown): ContextKeyExpression };
  export const ContextKeyRegexExpr: { create(key: string, regexp: RegExp | null): ContextKeyExpression };
  export const ContextKeyAndExpr: { create(expr: ContextKeyExpression[], negated: null, extraRedundantCheck: boolean): ContextKeyExpression | undefined };
  export const ContextKeyOrExpr: { create(expr: ContextKeyExpression[], negated: null, extraRedundantCheck: boolean): ContextKeyExpression | undefined };
}

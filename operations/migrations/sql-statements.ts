/**
 * A migration file's statements, as PostgreSQL's own grammar sees them: `libpg-query` runs the
 * server's parser (compiled to WebAssembly, no install script), and its parse tree gives each
 * statement's place in the file. So `E'\\'` strings, tagged dollar quotes, nested comments,
 * `BEGIN ATOMIC … END` bodies and `CREATE RULE … DO (a; b)` split exactly as psql splits them,
 * in time linear in the file's size.
 *
 * Locations in the parse tree count UTF-8 bytes; everything returned here counts JavaScript
 * characters (what `String.slice` and PostgreSQL's error `position` use) and 1-based lines and
 * columns (what an editor shows).
 */
import type { ParseResult } from 'libpg-query';

export interface SqlStatement {
  /** 1-based, in file order. */
  number: number;
  /** From the statement's first token to its end, without the `;` (what is sent to the server). */
  text: string;
  /** Character offset of `text` in the file. */
  offset: number;
  line: number;
  column: number;
  /** The parse tree's node, e.g. `{ CreateStmt: {…} }`. */
  node: Record<string, unknown>;
}

export interface SqlSyntaxError {
  message: string;
  /** Character offset in the file. */
  offset: number;
  line: number;
  column: number;
}

export type ParsedSql = { ok: true; statements: SqlStatement[] } | { ok: false; error: SqlSyntaxError };

let loading: Promise<void> | undefined;
let parseSync: ((sql: string) => ParseResult) | undefined;

/**
 * Loads the parser once per process (10–40 ms to compile its WebAssembly), only when a file is to
 * be read: a command with nothing to migrate never pays for it.
 */
export function loadSqlParser(): Promise<void> {
  loading ??= import('libpg-query').then(async (imported) => {
    // Bundled (dist/operator.js), the package's CommonJS build comes as the namespace's default.
    const parser = 'loadModule' in imported ? imported : (imported as { default: typeof imported }).default;
    await parser.loadModule();
    parseSync = parser.parseSync;
  });
  return loading;
}

/** Statements of `sql`, or its first syntax error. Call `loadSqlParser()` first. */
export function parseSql(sql: string): ParsedSql {
  // The parser reads a C string: a NUL would end the file there and hide everything after it.
  const nul = sql.indexOf('\0');
  if (nul >= 0) return { ok: false, error: { message: 'the file contains a NUL character, which PostgreSQL does not accept in SQL text', ...position(sql, nul) } };
  // A byte-order mark is no SQL: replaced by a space, so every offset stays where it was.
  const text = sql.charCodeAt(0) === 0xfeff ? ` ${sql.slice(1)}` : sql;
  if (!parseSync) throw new Error('The SQL parser is not loaded yet: await loadSqlParser() first.');
  let tree: ParseResult;
  try {
    tree = parseSync(text);
  } catch (error) {
    const { message, sqlDetails } = error as { message: string; sqlDetails?: { cursorPosition?: number } };
    const offset = charOffsets(text, [Math.max(0, sqlDetails?.cursorPosition ?? 0)])[0]!;
    return { ok: false, error: { message, ...position(text, offset) } };
  }
  const raws = tree.stmts ?? [];
  const bytes: number[] = [];
  for (const raw of raws) {
    const start = raw.stmt_location ?? 0;
    bytes.push(start, raw.stmt_len ? start + raw.stmt_len : Number.POSITIVE_INFINITY);
  }
  const chars = charOffsets(text, bytes);
  const lines = new LineCounter(text);
  const statements: SqlStatement[] = raws.map((raw, i) => {
    const start = skipSpaceAndComments(text, chars[2 * i]!);
    const end = Math.min(chars[2 * i + 1]!, text.length);
    const { line, column } = lines.at(start);
    return { number: i + 1, text: text.slice(start, end).trimEnd(), offset: start, line, column, node: raw.stmt as Record<string, unknown> };
  });
  return { ok: true, statements };
}

/** The line and column (1-based) of a character offset. */
export function position(text: string, offset: number): { offset: number; line: number; column: number } {
  return { offset, ...new LineCounter(text).at(offset) };
}

/** Lines and columns of increasing offsets in one pass over the text. */
class LineCounter {
  private scanned = 0;
  private line = 1;
  private lineStart = 0;
  constructor(private readonly text: string) {}

  at(offset: number): { line: number; column: number } {
    if (offset < this.scanned) Object.assign(this, { scanned: 0, line: 1, lineStart: 0 });
    for (let i = this.text.indexOf('\n', this.scanned); i !== -1 && i < offset; i = this.text.indexOf('\n', i + 1)) {
      this.line += 1;
      this.lineStart = i + 1;
    }
    this.scanned = offset;
    return { line: this.line, column: offset - this.lineStart + 1 };
  }
}

/** Character offsets of increasing UTF-8 byte offsets (Infinity stays Infinity). */
function charOffsets(text: string, byteOffsets: number[]): number[] {
  // eslint-disable-next-line no-control-regex
  if (!/[^\u0000-\u007f]/.test(text)) return byteOffsets;
  const buffer = Buffer.from(text, 'utf8');
  let byte = 0;
  let char = 0;
  return byteOffsets.map((target) => {
    if (target === Number.POSITIVE_INFINITY) return target;
    const to = Math.min(target, buffer.length);
    if (to < byte) {
      byte = 0;
      char = 0;
    }
    char += buffer.toString('utf8', byte, to).length;
    byte = to;
    return char;
  });
}

/**
 * Where a statement's first token starts. The parser places a statement right after the previous
 * `;`, so only whitespace and comments can come before its first token.
 */
export function skipSpaceAndComments(text: string, from: number): number {
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i += 1;
    if (text.startsWith('--', i)) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
    } else if (text.startsWith('/*', i)) {
      let depth = 0;
      do {
        if (text.startsWith('/*', i)) {
          depth += 1;
          i += 2;
        } else if (text.startsWith('*/', i)) {
          depth -= 1;
          i += 2;
        } else i += 1;
      } while (depth > 0 && i < text.length);
    } else return i;
  }
}

/**
 * Small, checked edits of the TS files a module author owns (plugin/index.ts, client/manifest.ts):
 * add an import, a list entry or a statement, each only once. When the anchor an edit needs is no
 * longer in the file, the edit fails with what to add by hand; nothing is guessed.
 */

export class EditError extends Error {
  override readonly name = 'EditError';
}

/** Adds `line` after the last top-level import (or at the top), unless it is there already. */
export function addImport(source: string, line: string, file: string): string {
  if (hasLine(source, line)) return source;
  const lines = source.split('\n');
  let last = -1;
  lines.forEach((text, i) => {
    if (/^import\s/.test(text)) last = i;
  });
  if (last === -1) throw new EditError(`${file} has no import lines to add after; add this line at the top:\n  ${line}`);
  // An import may span lines: move to the line that ends it.
  while (last < lines.length - 1 && !/;\s*$/.test(lines[last]!)) last += 1;
  lines.splice(last + 1, 0, line);
  return lines.join('\n');
}

/**
 * Adds `entry` as the last entry of the bracketed block that opens at `opener` (a regex ending
 * at the opening `[` or `{`), indented like its other entries, unless it is there already.
 */
export function addToBlock(source: string, opener: RegExp, entry: string, file: string, what: string): string {
  const match = opener.exec(source);
  if (!match) throw new EditError(`${file}: could not find ${what} (${opener.source}); add this line to it by hand:\n  ${entry}`);
  const open = match.index + match[0].length - 1;
  const close = matchingBracket(source, open);
  if (close === -1) throw new EditError(`${file}: ${what} is never closed; fix the file, then run the generator again.`);
  const block = source.slice(open + 1, close);
  if (hasLine(block, entry)) return source;
  const lineStart = source.lastIndexOf('\n', open) + 1;
  const outerIndent = /^\s*/.exec(source.slice(lineStart))![0];
  const indent = outerIndent + '  ';
  const closeLineStart = source.lastIndexOf('\n', close) + 1;
  const closeOnOwnLine = source.slice(closeLineStart, close).trim() === '';
  if (closeOnOwnLine) {
    return source.slice(0, closeLineStart) + indent + entry + '\n' + source.slice(closeLineStart);
  }
  return source.slice(0, close) + '\n' + indent + entry + '\n' + outerIndent + source.slice(close);
}

/** Whether `text` has a line equal to `line` (ignoring indentation). */
export function hasLine(text: string, line: string): boolean {
  return text.split('\n').some((l) => l.trim() === line.trim());
}

/** Index of the bracket closing the one at `open`, skipping strings and comments; -1 if none. */
function matchingBracket(source: string, open: number): number {
  const pairs: Record<string, string> = { '[': ']', '{': '}', '(': ')' };
  const stack = [pairs[source[open]!]!];
  for (let i = open + 1; i < source.length; i += 1) {
    const ch = source[i]!;
    if (ch === '/' && source[i + 1] === '/') {
      i = source.indexOf('\n', i);
      if (i === -1) return -1;
    } else if (ch === '/' && source[i + 1] === '*') {
      i = source.indexOf('*/', i + 2) + 1;
      if (i === 0) return -1;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      i = endOfString(source, i);
      if (i === -1) return -1;
    } else if (ch in pairs) {
      stack.push(pairs[ch]!);
    } else if (ch === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

function endOfString(source: string, start: number): number {
  const quote = source[start];
  for (let i = start + 1; i < source.length; i += 1) {
    if (source[i] === '\\') i += 1;
    else if (source[i] === quote) return i;
  }
  return -1;
}

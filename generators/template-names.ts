/**
 * The identifiers of the TypeScript templates, read from template/ itself so that the check on
 * entity and page names can never drift from the code it protects. A name the author types
 * becomes identifiers (`{{many.camel}}` → `purchaseOrders`, `New{{one.pascal}}Form` →
 * `NewPurchaseOrderForm`); the generated module only compiles when none of them is a reserved
 * word or a name the templates already use (`Error`, `ApiError`, `parseInput`, `tenantId`…).
 *
 * A small scanner, not a parser: it leaves out comments, strings, JSX text and attribute names,
 * members after `.` and object keys (`{ data: … }`), and keeps every other word. When in doubt it
 * keeps a word, so a doubtful name is refused rather than let through to a broken module.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listFiles } from './files.ts';
import { TEMPLATE_DIR } from './kit.ts';
import type { EntityNames, ModuleNames } from './names.ts';

/** Words TypeScript never accepts as a declared name in a module (ES modules are strict code). */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum',
  'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null',
  'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with',
  'implements', 'interface', 'let', 'package', 'private', 'protected', 'public', 'static', 'yield', 'await',
  'arguments', 'eval',
]);

/** One word of a template: an identifier, possibly with Handlebars holes (`New{{one.pascal}}Form`). */
export interface TemplateWord {
  text: string;
  /** A member after `.` or an object key: it names a property, not a variable or a type. */
  property: boolean;
}

export interface TemplateIdentifiers {
  /** Identifiers the templates use as they are (`rows`, `Error`), each with the first template using it. */
  fixed: Map<string, string>;
  /** Identifiers made from the author's names (`New{{one.pascal}}Form`), with the first template using each. */
  made: Map<string, string>;
}

/**
 * Answers as the templates read them: the module's names at the top level (`{{id}}`,
 * `{{constant}}`), the entity's too (`{{many.camel}}`, `{{table}}`), and each also nested.
 */
export function templateData(module: ModuleNames, answers: { entity?: EntityNames } & object = {}): Record<string, unknown> {
  return { ...answers, ...answers.entity, ...module, module };
}

let cached: TemplateIdentifiers | undefined;

/**
 * The identifiers of every `.ts`/`.tsx` file under template/ (read once per process), but for
 * template/vendored/: the published kit's copy of what `vendor` places in a foundation, never
 * part of a module.
 */
export function templateIdentifiers(): TemplateIdentifiers {
  if (cached) return cached;
  const fixed = new Map<string, string>();
  const made = new Map<string, string>();
  for (const file of listFiles(TEMPLATE_DIR).filter((f) => /\.tsx?$/.test(f) && !f.startsWith('vendored/'))) {
    const where = `template/${file}`;
    for (const word of scanWords(fs.readFileSync(path.join(TEMPLATE_DIR, file), 'utf8'), { jsx: file.endsWith('.tsx') })) {
      if (word.text.includes('{{')) {
        if (!made.has(word.text)) made.set(word.text, where);
      } else if (!word.property && !/^\d/.test(word.text) && !RESERVED_WORDS.has(word.text) && !fixed.has(word.text)) {
        fixed.set(word.text, where);
      }
    }
  }
  cached = { fixed, made };
  return cached;
}

/**
 * Why the names in `data` (template data, as the generators hand it to the templates) would break
 * the generated code, or undefined when they would not: an identifier made from them is a reserved
 * word, one the templates already use, or one that another template hole makes too.
 */
export function identifierClash(data: object): string | undefined {
  const { fixed, made } = templateIdentifiers();
  const madeBy = new Map<string, string>();
  for (const [pattern, where] of made) {
    const name = fillHoles(pattern, data);
    if (name === undefined) continue; // a hole of another generator's names
    if (RESERVED_WORDS.has(name)) return `makes the identifier "${name}" (in ${where}), a reserved word in TypeScript`;
    const used = fixed.get(name);
    if (used) return `makes the identifier "${name}", which the generated code already uses (${used})`;
    const other = madeBy.get(name);
    if (other && other !== pattern) return `makes the identifier "${name}" twice (${other} and ${pattern})`;
    madeBy.set(name, pattern);
  }
  return undefined;
}

/** `New{{one.pascal}}Form` with `data` → `NewItemForm`; undefined when a hole is not a name in `data`. */
function fillHoles(pattern: string, data: object): string | undefined {
  let missing = false;
  const name = pattern.replace(/\{\{\{?\s*([\w.]+)\s*\}?\}\}/g, (_hole, key: string) => {
    const value = key.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], data);
    if (typeof value !== 'string') missing = true;
    return String(value);
  });
  return missing || !/^[A-Za-z_$][\w$]*$/.test(name) ? undefined : name;
}

const EXPRESSION_KEYWORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

/** The words of one TS (or, with `jsx`, TSX) template, in order. */
export function scanWords(source: string, { jsx = false } = {}): TemplateWord[] {
  const words: TemplateWord[] = [];
  let i = 0;
  // The last significant token: a word, one punctuation character, or `"` for a string or JSX value.
  let prev = '';

  const isWordStart = (at: number) => /[\w$]/.test(source[at] ?? '') || source.startsWith('{{', at);
  const skipHole = () => {
    const close = source.startsWith('{{{', i) ? '}}}' : '}}';
    const end = source.indexOf(close, i);
    i = end === -1 ? source.length : end + close.length;
  };
  const readWord = () => {
    const start = i;
    while (i < source.length && isWordStart(i)) {
      if (source.startsWith('{{', i)) skipHole();
      else i += 1;
    }
    return source.slice(start, i);
  };
  const skipSpace = () => {
    while (/\s/.test(source[i] ?? '')) i += 1;
  };
  const skipQuoted = (quote: string) => {
    for (i += 1; i < source.length && source[i] !== quote; i += 1) if (source[i] === '\\') i += 1;
    i += 1;
  };
  const isValue = (token: string) => token === '"' || token === ')' || token === ']' || (/^[\w$]/.test(token) && !EXPRESSION_KEYWORDS.has(token));

  /** Code up to the `}` that closes an enclosing `${` or JSX `{` (when `nested`), or to the end. */
  function code(nested: boolean): void {
    const brackets: string[] = [];
    prev = '{';
    while (i < source.length) {
      const ch = source[i]!;
      if (/\s/.test(ch)) {
        i += 1;
      } else if (source.startsWith('//', i)) {
        i = source.indexOf('\n', i) === -1 ? source.length : source.indexOf('\n', i);
      } else if (source.startsWith('/*', i)) {
        i = source.indexOf('*/', i) === -1 ? source.length : source.indexOf('*/', i) + 2;
      } else if (ch === "'" || ch === '"') {
        skipQuoted(ch);
        prev = '"';
      } else if (ch === '`') {
        templateLiteral();
        prev = '"';
      } else if (ch === '/' && !isValue(prev)) {
        regex();
        prev = '"';
      } else if (isWordStart(i)) {
        // A word followed by `:` right after `{`, `,` or `;` inside braces is an object or type key.
        const keyPlace = brackets.at(-1) === '{' && [',', '{', ';'].includes(prev);
        const text = readWord();
        words.push({ text, property: prev === '.' || (keyPlace && /^\s*\??:(?!:)/.test(source.slice(i, i + 40))) });
        prev = text;
      } else if (source.startsWith('...', i)) {
        i += 3;
        prev = '...';
      } else if (ch === '<' && jsx && !isValue(prev)) {
        element();
        prev = '"';
      } else {
        if (ch === '{' || ch === '(' || ch === '[') brackets.push(ch);
        if (ch === '}' || ch === ')' || ch === ']') {
          if (brackets.length === 0 && nested) {
            i += 1;
            return;
          }
          brackets.pop();
        }
        prev = ch;
        i += 1;
      }
    }

  }

  function templateLiteral(): void {
    for (i += 1; i < source.length && source[i] !== '`'; i += 1) {
      if (source[i] === '\\') i += 1;
      else if (source.startsWith('${', i)) {
        i += 2;
        code(true);
        i -= 1;
      }
    }
    i += 1;
  }

  function regex(): void {
    let inClass = false;
    for (i += 1; i < source.length; i += 1) {
      const ch = source[i];
      if (ch === '\\') i += 1;
      else if (ch === '[') inClass = true;
      else if (ch === ']') inClass = false;
      else if (ch === '/' && !inClass) break;
    }
    i += 1;
    while (/[a-z]/.test(source[i] ?? '')) i += 1;
  }

  /** A JSX element from its `<`: the tag (a component is a word), attributes, then children. */
  function element(): void {
    i += 1;
    const tag = readWord();
    if (/^[A-Z]|\{\{/.test(tag)) words.push({ text: tag, property: false });
    while (source[i] === '.' || source[i] === '-' || source[i] === ':') {
      i += 1;
      readWord();
    }
    for (;;) {
      skipSpace();
      if (i >= source.length) return;
      if (source.startsWith('/>', i)) {
        i += 2;
        return;
      }
      if (source[i] === '>') {
        i += 1;
        children();
        return;
      }
      if (source[i] === '{' && !source.startsWith('{{', i)) {
        i += 1;
        code(true);
        continue;
      }
      // An attribute: its name is a property of the element; only its value can be code.
      while (i < source.length && /[^\s=/>]/.test(source[i]!)) source.startsWith('{{', i) ? skipHole() : (i += 1);
      skipSpace();
      if (source[i] !== '=') continue;
      i += 1;
      skipSpace();
      if (source[i] === '"' || source[i] === "'") skipQuoted(source[i]!);
      else if (source[i] === '{') {
        i += 1;
        code(true);
      }
    }
  }

  /** Text, `{expressions}` and child elements, up to the closing tag. */
  function children(): void {
    while (i < source.length) {
      if (source.startsWith('{{', i)) skipHole();
      else if (source[i] === '{') {
        i += 1;
        code(true);
      } else if (source.startsWith('</', i)) {
        i = source.indexOf('>', i) + 1 || source.length;
        return;
      } else if (source[i] === '<') {
        element();
      } else {
        i += 1;
      }
    }
  }

  code(false);
  return words;
}

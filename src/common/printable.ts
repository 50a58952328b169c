/**
 * Text that came from outside (file names above all) made safe to print in a
 * log line, a status or an error file: a newline in a file name must not
 * start a forged log line, and terminal escapes or bidirectional overrides
 * must not change what the reader sees. Control characters become escapes
 * (\n, \r, \t, \xNN, \uNNNN), the same way everywhere.
 */

// C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings,
// overrides and isolates, and the BOM / zero-width no-break space.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

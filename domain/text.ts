/**
 * What free text a client may send: the one rule, used by the API's schemas (api/schemas.ts) and,
 * as a second line, by the workflows' validators, for input that reached them some other way.
 *
 * Refused everywhere: NUL (PostgreSQL cannot store it), the other control characters (they forge
 * log lines and break CSV and terminals) and lone UTF-16 surrogates (they have no UTF-8 form, so
 * neither PostgreSQL nor Temporal's protobuf can carry them). Line breaks are allowed only where
 * the field says so (reasons).
 */

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** C0 and C1 controls and DEL, but for line breaks: what `storable` replaces. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_BUT_NEWLINES = /[\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

export interface TextRule {
  /** Line breaks (\n, \r\n) allowed: reasons are prose, everything else is one line. */
  multiline?: boolean;
}

/**
 * The same rules as whole-string patterns, for a JSON Schema `pattern` (the API's OpenAPI document
 * states them, so a client or a fuzzer sees them). Lone surrogates cannot be written in a pattern:
 * `hasLoneSurrogate` is checked beside it.
 */
// eslint-disable-next-line no-control-regex -- as above
export const SINGLE_LINE_TEXT = /^[^\x00-\x1F\x7F-\x9F\u2028\u2029]*$/;
// eslint-disable-next-line no-control-regex -- as above
export const MULTI_LINE_TEXT = /^[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F-\x9F]*$/;
export const TEXT_RULES = {
  singleLine: 'must not contain NUL, control characters or line breaks',
  multiLine: 'must not contain NUL or control characters other than line breaks',
  surrogates: 'must be valid Unicode (no lone surrogates)',
};

export const hasLoneSurrogate = (value: string) => LONE_SURROGATE.test(value);

/** Why `value` cannot be stored as free text, or null when it can. */
export function textProblem(value: string, rule: TextRule = {}): string | null {
  if (!(rule.multiline ? MULTI_LINE_TEXT : SINGLE_LINE_TEXT).test(value))
    return rule.multiline ? TEXT_RULES.multiLine : TEXT_RULES.singleLine;
  if (hasLoneSurrogate(value)) return TEXT_RULES.surrogates;
  return null;
}

/**
 * The same text with everything that cannot be encoded or stored replaced by U+FFFD: for the few
 * places that must carry a string they did not validate (failure messages, see
 * codec/failure-converter.ts). Never used to accept input: input that needs it is refused.
 */
export function storable(value: string): string {
  return value
    .replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD')
    .replace(new RegExp(CONTROL_BUT_NEWLINES.source, 'g'), '\uFFFD');
}

/** Identifiers this service names (SKUs, order and return ids): letters, digits and `. _ : -`, at most 100. */
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;
/**
 * Who a token names (its `sub`: a customer id, a staff id), as identity providers write them
 * (`auth0|5f…`, `ann@example.com`): printable ASCII, no spaces, at most 200.
 */
export const SUBJECT_PATTERN = /^[\x21-\x7E]{1,200}$/;

/**
 * The path of the first string in `value` that `textProblem` refuses (keys in `multilineKeys`
 * may hold line breaks), or of a number that is not a safe integer; null when all is storable.
 * The workflows' second line of defence, for input that did not come through the API's schemas.
 */
export function findUnstorable(
  value: unknown,
  multilineKeys: readonly string[] = ['reason'],
  path = '',
  depth = 0,
): string | null {
  if (depth > 10) return path || '(root)';
  if (typeof value === 'string') {
    const key = path.slice(path.lastIndexOf('.') + 1);
    return textProblem(value, { multiline: multilineKeys.includes(key) }) ? path || '(root)' : null;
  }
  if (typeof value === 'number') return Number.isSafeInteger(value) ? null : path || '(root)';
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const here = `${path ? `${path}.` : ''}${key}`;
      if (textProblem(key)) return storable(here);
      const found = findUnstorable(inner, multilineKeys, here, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

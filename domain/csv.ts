/**
 * CSV as spreadsheets read it (RFC 4180): a cell with a comma, a quote or a line break is quoted,
 * and a cell a spreadsheet would run as a formula (it begins with `=`, `+`, `-`, `@`, a tab or a
 * carriage return) is prefixed with `'`, so it is shown as the text it is (OWASP's CSV injection).
 * So is what follows a semicolon or a tab inside a cell: a spreadsheet that splits lines on those
 * (Excel in much of Europe splits on `;`) starts a cell there, where our quotes mean nothing.
 */
export type Cell = string | number | null | undefined;

const FORMULA = /^[=+\-@\t\r]/;
const FORMULA_AFTER_SEPARATOR = /([;\t])(?=[=+\-@\t\r])/g;

export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const inner = value.replace(FORMULA_AFTER_SEPARATOR, "$1'");
  const text = FORMULA.test(inner) ? `'${inner}` : inner;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line, ended by CRLF as RFC 4180 asks. */
export function csvRow(cells: readonly Cell[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

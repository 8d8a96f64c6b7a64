/** CSV cells as a spreadsheet reads them (domain/csv.ts): quoted when they must be, formulas made text. */
import { csvCell, csvRow } from '../../domain/csv';

test('plain cells are as they are; commas, quotes and line breaks are quoted', () => {
  expect(csvCell('mug')).toBe('mug');
  expect(csvCell(1200)).toBe('1200');
  expect(csvCell(null)).toBe('');
  expect(csvCell('a,b')).toBe('"a,b"');
  expect(csvCell('say "hi"')).toBe('"say ""hi"""');
  expect(csvCell('two\nlines')).toBe('"two\nlines"');
  expect(csvRow(['a', 1, null])).toBe('a,1,\r\n');
});

test('a cell a spreadsheet would run as a formula is shown as text', () => {
  for (const start of ['=', '+', '-', '@', '\t', '\r'])
    expect(csvCell(`${start}SUM(A1)`).replace(/^"/, '')).toMatch(/^'/);
  expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
  // Numbers are numbers: a negative amount stays a number.
  expect(csvCell(-5)).toBe('-5');
  expect(csvCell('a=b')).toBe('a=b');
});

test('no cell a spreadsheet splitting on semicolons or tabs would make of a row begins a formula', () => {
  const row = csvRow(['ord_1', 'x;=WEBSERVICE("u");', 'a\t=1+1', 'b;;+1', 'c;-5;@x', 5]);
  for (const separator of [';', '\t'])
    for (const cell of row.split(separator))
      expect({ cell, formula: /^[=+\-@]/.test(cell) }).toEqual({ cell, formula: false });
  // A comma-reading spreadsheet shows each as its text, the apostrophes marking what was escaped.
  expect(csvCell('x;=1+1;')).toBe("x;'=1+1;");
  expect(csvCell('a;b')).toBe('a;b');
});

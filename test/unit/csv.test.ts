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

test('a cell with a semicolon or a tab is quoted: a spreadsheet splitting on them keeps it whole', () => {
  expect(csvCell('c1;=1+1;')).toBe('"c1;=1+1;"');
  expect(csvCell('a\t=1+1')).toBe('"a\t=1+1"');
  expect(csvRow(['ord_1', 'x;=WEBSERVICE("u")', 5])).toBe('ord_1,"x;=WEBSERVICE(""u"")",5\r\n');
});

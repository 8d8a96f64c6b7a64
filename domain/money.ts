/**
 * Money for people: amounts stay integer minor units everywhere a program reads them, and are
 * formatted in the order's currency only where a person reads them (the Web UI's summary and
 * details). Currencies are the current ISO 4217 list as the runtime's CLDR data knows it, with
 * each one's number of decimals (JPY 0, USD 2, KWD 3, CLF 4).
 */
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** The locale people read amounts in when nobody asked (the Web UI's text is written before anyone reads it). */
export const DEFAULT_LOCALE = 'en-US';

/** A current ISO 4217 code (any three capitals are not). */
export function isCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}

/**
 * Formatters made once per locale and currency: building an Intl.NumberFormat costs far more than
 * formatting with one, and the workflow formats amounts on every transition (docs/BENCHMARKS.md,
 * tuning 5). Pure, so sharing them across workflows changes no result; bounded, as locales are many.
 */
const formatters = new Map<string, Intl.NumberFormat>();
function formatter(locale: string, currency: string, digits?: number): Intl.NumberFormat {
  const key = `${locale}|${currency}|${digits ?? ''}`;
  let format = formatters.get(key);
  if (!format) {
    if (formatters.size >= 512) formatters.clear();
    format = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      ...(digits === undefined ? {} : { minimumFractionDigits: digits, maximumFractionDigits: digits }),
    });
    formatters.set(key, format);
  }
  return format;
}

/** How many decimals the currency's minor unit has. */
export function minorUnits(currency: string): number {
  return formatter(DEFAULT_LOCALE, currency).resolvedOptions().maximumFractionDigits!;
}

/**
 * `minor` units of `currency` as people read them: 9442 USD is `$94.42`, 1200 JPY `¥1,200`, 1250
 * EUR in de-DE `12,50 €`. Exact for any safe integer: the decimal is built as text, not divided.
 */
export function formatMoney(minor: number, currency: string, locale = DEFAULT_LOCALE): string {
  // Orders placed before codes were checked may carry one no list knows: shown as stored, never a throw.
  if (!isCurrency(currency)) return `${minor} ${currency}`;
  const digits = minorUnits(currency);
  const sign = minor < 0 ? '-' : '';
  const units = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, '0');
  const decimal = digits ? `${sign}${units.slice(0, -digits)}.${units.slice(-digits)}` : `${sign}${units}`;
  return formatter(locale, currency, digits).format(decimal as unknown as number); // a decimal string: exact (Intl.NumberFormat v3)
}

import { jsonBytes, truncateToJsonBytes } from '../../src/shared/limits';

/** Texts cut by what they weigh as Temporal stores them (JSON in UTF-8), not by their characters. */
describe('truncateToJsonBytes', () => {
  test.each([
    ['control characters (6 bytes each)', '\u0001'.repeat(10_000)],
    ['CJK (3 bytes each)', '漢'.repeat(10_000)],
    ['ASCII', 'x'.repeat(30_000)],
    ['emoji (surrogate pairs)', '😀'.repeat(10_000)],
  ])('%s: at most the budget, with a note of what was cut', (_name, text) => {
    const cut = truncateToJsonBytes(text, 24 * 1024, 'a test');
    expect(jsonBytes(cut)).toBeLessThanOrEqual(24 * 1024);
    expect(cut).toMatch(/\n\[kern cut \d+ more characters: a test\]$/);
    const kept = cut.slice(0, cut.indexOf('\n[kern cut'));
    expect(text.startsWith(kept)).toBe(true);
    // No half of a surrogate pair is left at the end.
    expect(/[\uD800-\uDBFF]$/.test(kept)).toBe(false);
  });

  test('a text at the budget is kept whole; one two bytes over is cut', () => {
    const atBudget = '\u0001'.repeat(4_095); // 24,570 + 2 quotes
    expect(truncateToJsonBytes(atBudget, 24_572, 'a test')).toBe(atBudget);
    const over = '\u0001'.repeat(4_096); // 24,578 bytes
    expect(jsonBytes(truncateToJsonBytes(over, 24_576, 'a test'))).toBeLessThanOrEqual(24_576);
  });
});

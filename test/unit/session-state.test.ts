import { applySessionStateChanges, mergeSessionState, sessionStateChanges } from '../../src/shared/sessions';

describe('session state, as runs change and merge it', () => {
  test("a run's seed merges over the stored state as the framework's does: nested objects merge, the rest replaces", () => {
    const stored = { prefs: { theme: 'dark', lang: 'en' }, tags: ['a'], plan: 'free' };
    const merged = mergeSessionState(stored, { prefs: { lang: 'fr' }, tags: ['b'], extra: null });
    expect(merged).toEqual({ prefs: { theme: 'dark', lang: 'fr' }, tags: ['b'], plan: 'free', extra: null });
    expect(stored).toEqual({ prefs: { theme: 'dark', lang: 'en' }, tags: ['a'], plan: 'free' });
  });

  test('changes are the keys set and the keys deleted, compared as JSON', () => {
    const before = { a: 1, b: { c: [1, 2] }, gone: true };
    expect(sessionStateChanges(before, { a: 1, b: { c: [1, 2, 3] }, added: 'x' })).toEqual({
      set: { b: { c: [1, 2, 3] }, added: 'x' },
      unset: ['gone'],
    });
    expect(sessionStateChanges(before, { ...before })).toBeUndefined();
  });

  test("two runs' changes to different keys both stay; for one key the later write wins", () => {
    const start = { shared: 'old', untouched: 1 };
    const first = sessionStateChanges(start, { ...start, shared: 'first', onlyFirst: true });
    const second = sessionStateChanges(start, { shared: 'second', untouched: 1, onlySecond: true });
    const applied = applySessionStateChanges(applySessionStateChanges(start, first), second);
    expect(applied).toEqual({ shared: 'second', untouched: 1, onlyFirst: true, onlySecond: true });
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { drillRelease } from '../src/drill.js';

// The drill's release sits beside production's: its name must be one helm accepts (53 characters at most).

describe('drillRelease: `<release>-drill` within helm’s 53 characters', () => {
  const n = (length: number, char = 'a'): string => char.repeat(length);
  const cases: Array<{ name: string; release: string; drill: string }> = [
    { name: 'a short name gets -drill appended', release: 'skypilot', drill: 'skypilot-drill' },
    { name: '47 characters: appended, exactly 53', release: n(47), drill: `${n(47)}-drill` },
    { name: '48 characters: -drill replaces the end', release: n(48), drill: `${n(47)}-drill` },
    { name: '53 characters: -drill replaces the end', release: n(53), drill: `${n(47)}-drill` },
    {
      name: 'a cut that would end in - leaves no trailing -',
      release: `${n(46)}-xyz`,
      drill: `${n(46)}-drill`,
    },
    { name: 'several - at the cut go too', release: `${n(44)}---xyz`, drill: `${n(44)}-drill` },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const drill = drillRelease(c.release);
      assert.equal(drill, c.drill);
      assert.ok(drill.length <= 53);
      assert.match(drill, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS label, as helm requires');
      assert.notEqual(drill, c.release);
    });
  }
});
